"""The receivers' own figures beside the ESP-based rates: where each figure comes from, how fresh.

Every metric of ``rates`` carries ``source`` (``esp_events``, ``gmail_postmaster``,
``snds``, ``arf``) and ``as_of`` (the latest day it rests on). The ``gmail``
profile judges Gmail's own user-reported spam rate when Postmaster Tools
data is stored (the worst monitored domain on its latest day in the window);
without it a finding says that ESP complaint events undercount Gmail. The
``microsoft`` profile shows SNDS's complaint rate (recipient-weighted over the
sender's IPs on the latest day) beside the ESP-based one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checks.findings import Status, finding, worst
from compliance.rates.limit_profiles import LimitProfile
from compliance.rates.results import ESP, Freshness, MetricResult, ProfileResult, RateSources
from compliance.rates.wording import format_rate
from store.events import Event, EventDay
from store.receivers import GmailDay, SndsDay

# How reports and tables name where a figure comes from.
SOURCE_NAMES = {
    ESP: "ESP events",
    "gmail_postmaster": "Gmail Postmaster Tools",
    "snds": "Microsoft SNDS",
    "arf": "ARF reports",
}


def latest_event_day(session: Session, first: date, last: date) -> date | None:
    """The last day of the window with any event: how fresh the ESP-based figures are."""
    return session.scalar(select(func.max(EventDay.day)).where(EventDay.day.between(first, last)))


def arf_complaints(session: Session, first: date, last: date) -> int:
    """Complaints in the window that came from feedback-loop reports."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.source == "arf", Event.type == "complaint", Event.day.between(first, last))
        )
        or 0
    )


def gmail_spam_rate(session: Session, first: date, last: date) -> tuple[float, date, str] | None:
    """Gmail's spam rate of the worst domain on the latest day stored in the window."""
    day = session.scalar(
        select(func.max(GmailDay.day)).where(
            GmailDay.day.between(first, last), GmailDay.spam_rate.is_not(None)
        )
    )
    if day is None:
        return None
    row = session.execute(
        select(GmailDay.spam_rate, GmailDay.domain)
        .where(GmailDay.day == day, GmailDay.spam_rate.is_not(None))
        .order_by(GmailDay.spam_rate.desc(), GmailDay.domain)
        .limit(1)
    ).one()
    return float(row[0] or 0.0), day, str(row[1])


def snds_complaint_rate(session: Session, first: date, last: date) -> tuple[float, date] | None:
    """SNDS's complaint rate over the sender's IPs on the latest day, weighted by recipients."""
    day = session.scalar(
        select(func.max(SndsDay.day)).where(
            SndsDay.day.between(first, last), SndsDay.complaint_rate.is_not(None)
        )
    )
    if day is None:
        return None
    weighted, recipients = session.execute(
        select(
            func.sum(SndsDay.complaint_rate * SndsDay.message_recipients),
            func.sum(SndsDay.message_recipients),
        ).where(SndsDay.day == day, SndsDay.complaint_rate.is_not(None))
    ).one()
    if not recipients or weighted is None:
        return None
    return float(weighted) / float(recipients), day


def add_receivers_figures(
    session: Session,
    judged: Mapping[str, ProfileResult],
    profiles: dict[str, LimitProfile],
    first: date,
    last: date,
) -> tuple[dict[str, ProfileResult], RateSources]:
    """The profiles with every ESP metric dated by its freshness and Gmail's and SNDS's own
    figures added; and the sources the figures rest on."""
    fresh = latest_event_day(session, first, last)
    result = {
        name: replace(
            profile,
            metrics={m: replace(v, as_of=fresh) for m, v in profile.metrics.items()},
        )
        for name, profile in judged.items()
    }
    sources = RateSources(Freshness(fresh), arf_complaints(session, first, last))
    gmail = result.get("gmail")
    if gmail is not None and "gmail" in profiles:
        found = gmail_spam_rate(session, first, last)
        result["gmail"] = _judge_gmail(gmail, profiles["gmail"], found)
        sources = replace(sources, gmail_postmaster=Freshness(found[1] if found else None))
    microsoft = result.get("microsoft")
    if microsoft is not None and "microsoft" in profiles:
        snds = snds_complaint_rate(session, first, last)
        result["microsoft"] = _show_snds(microsoft, profiles["microsoft"], snds)
        sources = replace(sources, snds=Freshness(snds[1] if snds else None))
    return result, sources


def _line(profile: LimitProfile) -> tuple[float | None, float | None]:
    line = profile.metrics.get("complaint_rate")
    return (line.warn, line.fail) if line else (0.001, 0.003)


def _status(value: float, warn: float | None, fail: float | None) -> Status:
    if fail is not None and value >= fail:
        return "fail"
    if warn is not None and value >= warn:
        return "warn"
    return "pass"


def _judge_gmail(
    judged: ProfileResult, profile: LimitProfile, found: tuple[float, date, str] | None
) -> ProfileResult:
    if found is None:
        undercounts = finding(
            "GMAIL_ESP_UNDERCOUNTS",
            f"{profile.title}: no Postmaster Tools data stored; the complaint rate here comes "
            "from ESP events, which undercount Gmail (it sends almost no per-message complaints).",
        )
        return replace(judged, findings=(*judged.findings, undercounts))
    value, day, domain = found
    warn, fail = _line(profile)
    status = _status(value, warn, fail)
    spam_rate = MetricResult(
        round(value, 6), warn, fail, status, source="gmail_postmaster", as_of=day, domain=domain
    )
    metrics = {**judged.metrics, "spam_rate": spam_rate}
    findings = [f for f in judged.findings if f.code != "RATES_LOW_VOLUME"]
    findings.append(
        finding(
            "GMAIL_SPAM_RATE_JUDGED",
            f"{profile.title}: Gmail's user-reported spam rate for {domain} on {day} is "
            f"{format_rate(value)} (Postmaster Tools); the ESP-based complaint rate is shown "
            "for reference.",
        )
    )
    if status in ("warn", "fail"):
        findings.append(
            finding(
                "RATE_OVER_FAIL" if status == "fail" else "RATE_OVER_WARN",
                f"{profile.title}: Gmail's spam rate is {format_rate(value)} on {day}, at or "
                f"over the {status} line of "
                f"{format_rate((fail if status == 'fail' else warn) or 0)}.",
            )
        )
    # Gmail's own figure is the one Gmail enforces: it replaces the ESP-based complaint rate.
    others = [m.status for n, m in metrics.items() if n != "complaint_rate"]
    return replace(judged, status=worst(others), metrics=metrics, findings=tuple(findings))


def _show_snds(
    judged: ProfileResult, profile: LimitProfile, found: tuple[float, date] | None
) -> ProfileResult:
    if found is None:
        return judged
    value, day = found
    warn, fail = _line(profile)
    snds = MetricResult(
        round(value, 6), warn, fail, _status(value, warn, fail), source="snds", as_of=day
    )
    metrics = {**judged.metrics, "snds_complaint_rate": snds}
    status = judged.status
    if status != "error":
        status = worst(m.status for m in metrics.values())
    return replace(judged, status=status, metrics=metrics)
