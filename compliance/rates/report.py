"""Bounce and complaint rates over a window, judged against limit profiles.

All sums come from ``event_days`` (kept at import), so a 30-day rate costs a
few dozen rows whatever the number of events. Definitions (DESIGN.md):
``bounce_rate`` = bounces / sent, ``hard_bounce_rate`` = hard bounces /
sent, ``complaint_rate`` = complaints / delivered. ``sent`` is the number of
``sent`` events; for sources that report no sending (Postmark, Mailjet send
only outcomes) it is delivered + bounced over the window instead.

A profile judges only with ``min_delivered`` delivered messages in its scope
and window; below that its status is ``error`` with a finding, and its
metrics carry no value: an invented rate is worse than none.

:func:`rates_report` returns a :class:`compliance.rates.results.RatesResult`,
whose ``to_json`` is the contract's ``rates`` object.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checks.findings import Finding, Status, finding, worst
from compliance.rates.limit_profiles import METRICS, LimitProfile
from compliance.rates.providers import PROVIDERS
from compliance.rates.receivers import add_receivers_figures
from compliance.rates.results import (
    DayFigures,
    Figures,
    LatestDay,
    MetricResult,
    ProfileResult,
    RatesResult,
    Trend,
)
from compliance.rates.window import DEFAULT_DAYS, DEFAULT_MIN_DELIVERED
from compliance.rates.wording import format_rate, metric_name
from store.events import COUNTERS, EventDay

# Fewest days with traffic a trend is fitted on.
TREND_MIN_DAYS = 5


@dataclass(frozen=True)
class Totals:
    """Event counts of some traffic."""

    sent: int = 0
    delivered: int = 0
    bounced_hard: int = 0
    bounced_soft: int = 0
    complaints: int = 0
    unsubscribes: int = 0
    opens: int = 0
    machine_opens: int = 0
    clicks: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def bounced(self) -> int:
        return self.bounced_hard + self.bounced_soft

    @property
    def sent_base(self) -> int:
        """What rates divide by: sent events, else every outcome of a sending."""
        return self.sent or self.delivered + self.bounced

    def rate(self, metric: str) -> float | None:
        """``metric`` of this traffic; None when nothing was sent (or delivered)."""
        if metric == "complaint_rate":
            return self.complaints / self.delivered if self.delivered else None
        if not self.sent_base:
            return None
        bounces = self.bounced_hard if metric == "hard_bounce_rate" else self.bounced
        return bounces / self.sent_base

    def figures(self) -> Figures:
        """The counts and rounded rates as ``rates`` shows them (``sent`` is the base)."""
        counts: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        counts["sent"] = self.sent_base
        counts.update({metric: _round(self.rate(metric)) for metric in METRICS})
        return Figures(**counts)

    def as_json(self) -> dict[str, Any]:
        return self.figures().to_json()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def sums(session: Session, first: date, last: date, *by: str) -> dict[tuple[Any, ...], Totals]:
    """Totals of the days ``first``..``last`` grouped by columns of ``event_days``."""
    columns = [getattr(EventDay, name) for name in by]
    query = (
        select(*columns, *(func.sum(getattr(EventDay, name)) for name in COUNTERS))
        .where(EventDay.day >= first, EventDay.day <= last)
        .group_by(*columns)
    )
    result: dict[tuple[Any, ...], Totals] = {}
    for row in session.execute(query):
        key, counts = tuple(row[: len(by)]), row[len(by) :]
        result[key] = Totals(*(int(count or 0) for count in counts))
    return result


def latest_day(session: Session, first: date, last: date, scope: str) -> tuple[date, Totals] | None:
    """The last day of the window with mail in ``scope`` and its totals, in one query over
    ``event_days``: the daily rate that Gmail's line is drawn for."""
    in_scope = [EventDay.day >= first, EventDay.day <= last]
    if scope != "all":
        in_scope.append(EventDay.provider == scope)
    with_mail = (
        EventDay.sent + EventDay.delivered + EventDay.bounced_hard + EventDay.bounced_soft
    ) > 0
    newest = select(func.max(EventDay.day)).where(*in_scope, with_mail).scalar_subquery()
    row = session.execute(
        select(EventDay.day, *(func.sum(getattr(EventDay, name)) for name in COUNTERS))
        .where(*in_scope, EventDay.day == newest)
        .group_by(EventDay.day)
    ).first()
    if row is None:
        return None
    return row[0], Totals(*(int(count or 0) for count in row[1:]))


def _latest(found: tuple[date, Totals] | None, as_of: date, metric: str) -> LatestDay | None:
    if found is None:
        return None
    day, totals = found
    label = (
        "yesterday"
        if day == as_of - timedelta(days=1)
        else ("today" if day == as_of else day.isoformat())
    )
    return LatestDay(day, label, _round(totals.rate(metric)), totals.delivered)


def scoped(by_provider: Mapping[str, Totals], scope: str) -> Totals:
    """The traffic a profile is judged on: all of it, or one provider's."""
    if scope == "all":
        return sum(by_provider.values(), Totals())
    return by_provider.get(scope, Totals())


def fit_trend(daily: Sequence[tuple[int, float]], fail: float | None, today: int) -> Trend | None:
    """Least squares through (day index, value); None with too few days (pure)."""
    if len(daily) < TREND_MIN_DAYS:
        return None
    count = len(daily)
    mean_x = sum(x for x, _ in daily) / count
    mean_y = sum(y for _, y in daily) / count
    spread = sum((x - mean_x) ** 2 for x, _ in daily)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in daily) / spread
    intercept = mean_y - slope * mean_x
    fitted_today = intercept + slope * today
    if fail is None or slope <= 0 or fitted_today >= fail:
        return Trend(slope, None)
    return Trend(slope, date.fromordinal(math.ceil(today + (fail - fitted_today) / slope)))


def judge(
    profile: LimitProfile, traffic: Totals, min_delivered: int
) -> tuple[Status, dict[str, MetricResult], list[Finding]]:
    """Status, metrics and findings of one profile on its traffic (pure)."""
    needed = profile.min_delivered or min_delivered
    metrics: dict[str, MetricResult] = {}
    findings: list[Finding] = []
    if traffic.delivered < needed:
        for metric, line in profile.metrics.items():
            metrics[metric] = MetricResult(None, line.warn, line.fail, "error")
        findings.append(
            finding(
                "RATES_LOW_VOLUME",
                f"{profile.title}: {traffic.delivered} delivered messages in scope "
                f"'{profile.scope}'; at least {needed} are needed to judge.",
            )
        )
        return "error", metrics, findings
    for metric, line in profile.metrics.items():
        value = traffic.rate(metric)
        status: Status = "pass" if value is None else line.status(value)
        metrics[metric] = MetricResult(_round(value), line.warn, line.fail, status)
        if status in ("warn", "fail"):
            limit = line.fail if status == "fail" else line.warn
            counted, base = _parts(metric, traffic)
            findings.append(
                finding(
                    "RATE_OVER_FAIL" if status == "fail" else "RATE_OVER_WARN",
                    f"{profile.title}: {metric_name(metric)} is {format_rate(value)} "
                    f"({counted} of {base}), at or over the {status} line of "
                    f"{format_rate(limit)}.",
                )
            )
    return worst(m.status for m in metrics.values()), metrics, findings


def _parts(metric: str, traffic: Totals) -> tuple[int, int]:
    """The numerator and denominator of ``metric`` for ``traffic``."""
    if metric == "complaint_rate":
        return traffic.complaints, traffic.delivered
    bounces = traffic.bounced_hard if metric == "hard_bounce_rate" else traffic.bounced
    return bounces, traffic.sent_base


def rates_report(
    session: Session,
    profiles: Mapping[str, LimitProfile],
    *,
    as_of: date,
    days: int = DEFAULT_DAYS,
    min_delivered: int = DEFAULT_MIN_DELIVERED,
) -> RatesResult:
    """The rates of the contract, with per-provider and daily detail."""
    first = as_of - timedelta(days=days - 1)
    by_provider = {key[0]: value for key, value in sums(session, first, as_of, "provider").items()}
    daily_rows = sums(session, first, as_of, "day", "provider")
    judged: dict[str, ProfileResult] = {}
    for profile in profiles.values():
        if not profile.metrics and profile.judged_by:
            continue
        traffic = scoped(by_provider, profile.scope)
        status, metrics, findings = judge(profile, traffic, min_delivered)
        newest = latest_day(session, first, as_of, profile.scope)
        metrics = {
            name: replace(metric, latest=_latest(newest, as_of, name))
            for name, metric in metrics.items()
        }
        trends = _trends(profile, daily_rows, first, as_of) if status != "error" else {}
        for metric, trend in trends.items():
            if trend.crosses_fail_on:
                findings.append(
                    finding(
                        "RATE_TREND_TO_FAIL",
                        f"{profile.title}: at its trend over {days} days, {metric} reaches "
                        f"the fail line on {trend.crosses_fail_on.isoformat()}.",
                    )
                )
        judged[profile.name] = ProfileResult(
            status=status,
            scope=profile.scope,
            title=profile.title,
            kind=profile.kind,
            published=profile.published,
            delivered=traffic.delivered,
            needed=profile.min_delivered or min_delivered,
            metrics=metrics,
            trends=trends,
            findings=tuple(findings),
            sources=tuple(profile.sources),
            requirements=tuple(profile.requirements),
        )
    for profile in profiles.values():
        if profile.metrics or not profile.judged_by:
            continue
        basis = judged.get(profile.judged_by)
        not_published = finding(
            "RATES_NOT_PUBLISHED",
            f"{profile.title} publishes no bounce or complaint threshold; judged by "
            f"'{profile.judged_by}'.",
        )
        judged[profile.name] = ProfileResult(
            status="error" if basis is None else basis.status,
            scope=profile.scope,
            title=profile.title,
            kind=profile.kind,
            published=False,
            judged_by=profile.judged_by,
            metrics={},
            findings=(not_published,),
            sources=tuple(profile.sources),
        )
    in_order = {name: judged[name] for name in profiles if name in judged}
    with_receivers, sources = add_receivers_figures(session, in_order, dict(profiles), first, as_of)
    return RatesResult(
        as_of=as_of,
        days=days,
        first=first,
        totals=scoped(by_provider, "all").figures(),
        providers={p: by_provider.get(p, Totals()).figures() for p in PROVIDERS},
        profiles=with_receivers,
        sources=sources,
        daily=_daily(daily_rows, first, as_of),
        daily_by_provider={
            provider: _daily(daily_rows, first, as_of, provider) for provider in PROVIDERS
        },
    )


def _series(daily_rows: Mapping[tuple[Any, ...], Totals], scope: str) -> dict[date, Totals]:
    series: dict[date, Totals] = {}
    for (day, provider), totals in daily_rows.items():
        if scope in ("all", provider):
            series[day] = series.get(day, Totals()) + totals
    return series


def _trends(
    profile: LimitProfile, daily_rows: Mapping[tuple[Any, ...], Totals], first: date, last: date
) -> dict[str, Trend]:
    series = _series(daily_rows, profile.scope)
    trends: dict[str, Trend] = {}
    for metric, line in profile.metrics.items():
        points = [
            (day.toordinal(), value)
            for day, totals in sorted(series.items())
            if (value := totals.rate(metric)) is not None
        ]
        trend = fit_trend(points, line.fail, last.toordinal())
        if trend is not None:
            trends[metric] = trend
    return trends


def _daily(
    daily_rows: Mapping[tuple[Any, ...], Totals], first: date, last: date, scope: str = "all"
) -> tuple[DayFigures, ...]:
    series = _series(daily_rows, scope)
    out = []
    day = first
    while day <= last:
        out.append(DayFigures(day, series.get(day, Totals()).figures()))
        day += timedelta(days=1)
    return tuple(out)


def campaign_rates(
    session: Session, *, as_of: date, days: int = DEFAULT_DAYS
) -> dict[str, dict[str, Any]]:
    """Counts and rates per campaign over the window (from the daily aggregates)."""
    first = as_of - timedelta(days=days - 1)
    return {
        key[0] or "(none)": totals.as_json()
        for key, totals in sorted(sums(session, first, as_of, "campaign").items())
    }
