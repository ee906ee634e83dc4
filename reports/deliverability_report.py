"""The deliverability report's figures: per domain and IP, what changed in a period.

For the postmaster and whoever they answer to: each target's checks now and
their status changes in the period, blocklist listings with how long they
lasted, alerts with how long they took to resolve, and the bounce and
complaint rates against every profile, drawn per provider. The figures come
from what the sweeps recorded (``target_status``, ``status_changes``,
``listing_episodes``, ``alerts``) and from ``rates_report``.
:func:`deliverability_report` returns a :class:`DeliverabilityReport`; its
``template_context`` is what the templates read.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from checks.findings import Status, worst
from compliance.audit.thresholds import Thresholds
from compliance.csv_files import CsvWriter
from compliance.rates.limit_profiles import LimitProfile
from compliance.rates.provider_evidence import receiver_evidence
from compliance.rates.receivers import SOURCE_NAMES
from compliance.rates.report import rates_report
from compliance.rates.requirements import ProviderCard, provider_card
from compliance.rates.results import RatesResult
from compliance.rates.window import DEFAULT_MIN_DELIVERED
from monitor.dashboard_data import latest_details, requirement_evidence
from monitor.targets import list_targets
from monitor.transport_history import transport_summary
from reports.charts import RatePanel, profile_rate_charts
from reports.compliance_report import ReportFile
from reports.trail import sha256_of
from store.alerting import Alert
from store.models import ListingEpisode, StatusChange, TargetStatus
from store.timestamps import as_utc

FIRST_TARGETS = 10  # failing targets named on page 1; the rest are in the targets section
CSV_COLUMNS = ("kind", "target", "subject", "status", "started", "ended", "hours", "detail")


@dataclass(frozen=True)
class CheckChange:
    """A check's status changing in the period (times to the minute, UTC)."""

    check: str
    previous: str | None
    to: str
    at: str


@dataclass(frozen=True)
class ListingRow:
    """A blocklist listing that overlaps the period; ``hours`` of it fall in the period."""

    target: str
    zone: str
    listed_at: str
    delisted_at: str | None
    hours: float | None
    reason: str | None


@dataclass(frozen=True)
class AlertRow:
    """An alert open at some time in the period."""

    id: int
    target: str
    check: str
    severity: str
    summary: str
    opened_at: str
    opened_in_period: bool
    resolved_at: str | None
    hours_to_resolve: float | None


@dataclass(frozen=True)
class TargetRow:
    """A monitored domain or IP: its checks now, and what happened to it in the period."""

    name: str
    kind: str
    status: Status
    checks: Mapping[str, str]
    changes: tuple[CheckChange, ...]
    listings: tuple[ListingRow, ...]
    alerts: int


@dataclass(frozen=True)
class AlertSummary:
    opened: int
    resolved: int
    still_open: int
    median_hours_to_resolve: float | None
    longest_hours_to_resolve: float | None


@dataclass(frozen=True)
class DeliverabilityReport:
    """The deliverability report's figures for a period."""

    organisation: str
    period_from: date
    period_to: date
    providers: tuple[ProviderCard, ...]
    generated_at: datetime
    generated_by: str
    targets: tuple[TargetRow, ...]
    transport: list[dict[str, Any]]
    listings: tuple[ListingRow, ...]
    alerts: tuple[AlertRow, ...]
    alert_summary: AlertSummary
    rates: RatesResult
    rate_charts: tuple[RatePanel, ...]
    dmarc: dict[str, Any]
    # Page 1's "what to do first": the first failing targets' failing findings and fixes.
    first: tuple[dict[str, Any], ...] = ()
    failing_targets: int = 0

    @property
    def status(self) -> Status:
        """The worst check of any target now; ``error`` with none monitored."""
        return worst(t.status for t in self.targets) if self.targets else "error"

    @property
    def has_data(self) -> bool:
        return bool(self.targets or self.rates.totals.sent)

    def template_context(self) -> dict[str, Any]:
        """What ``deliverability.html`` reads, by name."""
        return {
            "organisation": self.organisation,
            "period_from": self.period_from.isoformat(),
            "period_to": self.period_to.isoformat(),
            "providers": list(self.providers),
            "source_names": SOURCE_NAMES,
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "generated_by": self.generated_by,
            "targets": self.targets,
            "transport": self.transport,
            "status": self.status,
            "listings": self.listings,
            "alerts": self.alerts,
            "alert_summary": self.alert_summary,
            "rates": self.rates,
            "charts": {"rates": list(self.rate_charts)},
            "dmarc": self.dmarc,
            "first": list(self.first),
            "failing_targets": self.failing_targets,
            "has_data": self.has_data,
        }


def _bounds(period_from: date, period_to: date) -> tuple[datetime, datetime]:
    """The period as [start, end) in UTC: from the first day's start to the day after the last."""
    return (
        datetime.combine(period_from, time(), UTC),
        datetime.combine(period_to + timedelta(days=1), time(), UTC),
    )


def _hours(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else round((end - start).total_seconds() / 3600, 1)


def _listings(session: Session, start: datetime, end: datetime) -> list[ListingEpisode]:
    """Listing episodes that overlap the period, oldest first."""
    return list(
        session.scalars(
            select(ListingEpisode)
            .where(
                ListingEpisode.listed_at < end,
                or_(ListingEpisode.delisted_at.is_(None), ListingEpisode.delisted_at >= start),
            )
            .order_by(ListingEpisode.listed_at, ListingEpisode.id)
        )
    )


def _alerts(session: Session, start: datetime, end: datetime) -> list[Alert]:
    """Alerts open at any time in the period, oldest first."""
    return list(
        session.scalars(
            select(Alert)
            .where(
                Alert.opened_at < end,
                or_(Alert.resolved_at.is_(None), Alert.resolved_at >= start),
            )
            .order_by(Alert.opened_at, Alert.id)
        )
    )


def _changes(session: Session, start: datetime, end: datetime) -> list[StatusChange]:
    """Status changes in the period (not first sightings), oldest first."""
    return list(
        session.scalars(
            select(StatusChange)
            .where(StatusChange.at >= start, StatusChange.at < end)
            .where(StatusChange.previous.is_not(None))
            .order_by(StatusChange.at, StatusChange.id)
        )
    )


def deliverability_report(
    session: Session,
    *,
    period_from: date,
    period_to: date,
    organisation: str,
    generated_by: str,
    profiles: dict[str, LimitProfile],
    min_delivered: int = DEFAULT_MIN_DELIVERED,
    unsubscribe_grace_days: int = Thresholds.unsubscribe_grace_days,
) -> DeliverabilityReport:
    """The figures of the deliverability report."""
    start, end = _bounds(period_from, period_to)
    # An episode still open at the report's end is measured to the period's
    # end (or to now, if the period has not ended), and says so.
    cutoff = min(end, datetime.now(UTC))
    current: dict[str, dict[str, str]] = defaultdict(dict)
    for row in session.scalars(select(TargetStatus)):
        current[row.target][row.check] = row.status
    changes: dict[str, list[CheckChange]] = defaultdict(list)
    for change in _changes(session, start, end):
        changes[change.target].append(
            CheckChange(
                check=change.check,
                previous=change.previous,
                to=change.status,
                at=as_utc(change.at).isoformat(timespec="minutes"),
            )
        )
    listings = tuple(
        ListingRow(
            target=episode.target,
            zone=episode.zone,
            listed_at=as_utc(episode.listed_at).isoformat(timespec="minutes"),
            delisted_at=as_utc(episode.delisted_at).isoformat(timespec="minutes")
            if episode.delisted_at
            else None,
            hours=_hours(
                max(as_utc(episode.listed_at), start),
                min(as_utc(episode.delisted_at), cutoff) if episode.delisted_at else cutoff,
            ),
            reason=episode.reason,
        )
        for episode in _listings(session, start, end)
    )
    alerts = tuple(
        AlertRow(
            id=alert.id,
            target=alert.target,
            check=alert.check,
            severity=alert.severity,
            summary=alert.summary,
            opened_at=as_utc(alert.opened_at).isoformat(timespec="minutes"),
            opened_in_period=as_utc(alert.opened_at) >= start,
            resolved_at=as_utc(alert.resolved_at).isoformat(timespec="minutes")
            if alert.resolved_at
            else None,
            hours_to_resolve=_hours(
                as_utc(alert.opened_at), as_utc(alert.resolved_at) if alert.resolved_at else None
            ),
        )
        for alert in _alerts(session, start, end)
    )
    resolve_times = [a.hours_to_resolve for a in alerts if a.hours_to_resolve is not None]
    targets: list[TargetRow] = []
    for target in list_targets(session):
        checks = current.get(target.name, {})
        targets.append(
            TargetRow(
                name=target.name,
                kind=target.kind,
                status=worst(checks.values()) if checks else "error",
                checks=dict(sorted(checks.items())),
                changes=tuple(changes.get(target.name, [])),
                listings=tuple(row for row in listings if row.target == target.name),
                alerts=sum(1 for row in alerts if row.target == target.name),
            )
        )
    rates = rates_report(
        session,
        profiles,
        as_of=period_to,
        min_delivered=min_delivered,
        days=max(1, (period_to - period_from).days + 1),
    )
    failing = [t for t in targets if t.status == "fail"]
    # Each mailbox provider's bulk-sender requirements, as the dashboard's cards judge
    # them: the checks now, the messages audited in the period, the latest list audit and
    # the period's rates on that provider's recipients.
    evidence = requirement_evidence(session, start, unsubscribe_grace_days)
    receivers = receiver_evidence(session)
    providers = tuple(
        provider_card(profile, evidence, rates.profiles.get(name), receivers.get(name))
        for name, profile in profiles.items()
        if profile.kind == "mailbox-provider" and profile.requirements
    )
    return DeliverabilityReport(
        organisation=organisation,
        period_from=period_from,
        period_to=period_to,
        providers=providers,
        generated_at=datetime.now(UTC),
        generated_by=generated_by,
        targets=tuple(targets),
        transport=transport_summary(session),
        listings=listings,
        alerts=alerts,
        alert_summary=AlertSummary(
            opened=sum(1 for a in alerts if a.opened_in_period),
            resolved=len(resolve_times),
            still_open=sum(1 for a in alerts if a.resolved_at is None),
            median_hours_to_resolve=round(statistics.median(resolve_times), 1)
            if resolve_times
            else None,
            longest_hours_to_resolve=max(resolve_times, default=None),
        ),
        rates=rates,
        rate_charts=tuple(profile_rate_charts(rates)) if rates.totals.sent else (),
        dmarc=dmarc_section(session, period_from, period_to),
        first=tuple(_first_fixes(session, failing[:FIRST_TARGETS])),
        failing_targets=len(failing),
    )


def _first_fixes(session: Session, failing: list[TargetRow]) -> list[dict[str, Any]]:
    """Each failing domain or IP's failing findings with their fixes, from its latest results
    (page 1's "what to do first"; a lookup by index keys per target, for a few targets)."""
    first = []
    for target in failing:
        details = latest_details(session, target.name)
        fixes = [
            {"check": check, "code": item["code"], "message": item["message"], "fix": item["fix"]}
            for check, detail in sorted(details.items())
            for item in _findings(detail)
            if item.get("level") == "fail"
        ]
        first.append({"name": target.name, "kind": target.kind, "fixes": fixes})
    return first


def _findings(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """A check's findings, and those of its DKIM selectors."""
    found = list(detail.get("findings", []))
    for selector in (detail.get("selectors") or {}).values():
        found.extend(selector.get("findings", []))
    return found


def dmarc_section(session: Session, period_from: date, period_to: date) -> dict[str, Any]:
    """What receivers reported in the period: each policy domain's DMARC figures, verdict,
    worst sources and daily pass-rate chart, and its TLS sessions (no PTR lookups)."""
    from compliance.dmarc_reports.summary import daily_pass_rates, dmarc_summary, tls_summary
    from reports.charts import rate_chart

    summary = dmarc_summary(session, start=period_from, end=period_to)
    charts = {}
    for name in summary["domains"]:
        daily = daily_pass_rates(session, start=period_from, end=period_to, domain=name)
        charts[name] = rate_chart(
            f"{name}: DMARC pass rate per day",
            [day.isoformat() for day, _, _ in daily],
            [passing / messages if messages else None for _, messages, passing in daily],
            None,
            None,
        )
    return {
        "domains": summary["domains"],
        "charts": charts,
        "tls": tls_summary(session, start=period_from, end=period_to),
    }


def _csv_rows(session: Session, start: datetime, end: datetime) -> Iterator[tuple[Any, ...]]:
    cutoff = min(end, datetime.now(UTC))
    for change in _changes(session, start, end):
        at = as_utc(change.at).isoformat()
        yield ("status_change", change.target, change.check, change.status, at, "", "",
               f"from {change.previous}")  # fmt: skip
    for episode in _listings(session, start, end):
        listed = as_utc(episode.listed_at)
        delisted = as_utc(episode.delisted_at) if episode.delisted_at else None
        hours = _hours(max(listed, start), min(delisted, cutoff) if delisted else cutoff)
        state = "listed" if delisted is None else "delisted"
        yield ("listing", episode.target, episode.zone, state, listed.isoformat(),
               delisted.isoformat() if delisted else "", hours, episode.reason or "")  # fmt: skip
    for alert in _alerts(session, start, end):
        opened = as_utc(alert.opened_at)
        resolved = as_utc(alert.resolved_at) if alert.resolved_at else None
        yield ("alert", alert.target, alert.check, alert.severity, opened.isoformat(),
               resolved.isoformat() if resolved else "", _hours(opened, resolved),
               alert.summary)  # fmt: skip


def write_deliverability_csv(
    session: Session, period_from: date, period_to: date, path: Path
) -> ReportFile:
    """Every status change, listing and alert of the period into ``path``, with its SHA-256."""
    start, end = _bounds(period_from, period_to)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = CsvWriter(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(_csv_rows(session, start, end))
    return ReportFile(path.name, sha256_of(path))
