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

from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checks.findings import finding, worst
from compliance.limit_profiles import LimitProfile
from compliance.rate_wording import format_rate
from store.events import Event, EventDay
from store.receivers import GmailDay, SndsDay

ESP = "esp_events"
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
    report: dict[str, Any],
    profiles: dict[str, LimitProfile],
    first: date,
    last: date,
) -> None:
    """Stamp every metric with its source and freshness; add Gmail's and SNDS's own figures."""
    fresh = latest_event_day(session, first, last)
    as_of = fresh.isoformat() if fresh else None
    for judged in report["profiles"].values():
        for metric in judged["metrics"].values():
            metric.setdefault("source", ESP)
            metric.setdefault("as_of", as_of)
    report["sources"] = {
        ESP: {"as_of": as_of},
        "arf": {"complaints": arf_complaints(session, first, last)},
    }
    gmail = report["profiles"].get("gmail")
    if gmail is not None and "gmail" in profiles:
        _judge_gmail(gmail, profiles["gmail"], gmail_spam_rate(session, first, last), report)
    microsoft = report["profiles"].get("microsoft")
    if microsoft is not None and "microsoft" in profiles:
        _show_snds(microsoft, profiles["microsoft"], snds_complaint_rate(session, first, last),
                   report)  # fmt: skip


def _line(profile: LimitProfile) -> tuple[float | None, float | None]:
    line = profile.metrics.get("complaint_rate")
    return (line.warn, line.fail) if line else (0.001, 0.003)


def _status(value: float, warn: float | None, fail: float | None) -> str:
    if fail is not None and value >= fail:
        return "fail"
    if warn is not None and value >= warn:
        return "warn"
    return "pass"


def _judge_gmail(
    judged: dict[str, Any],
    profile: LimitProfile,
    found: tuple[float, date, str] | None,
    report: dict[str, Any],
) -> None:
    if found is None:
        report["sources"]["gmail_postmaster"] = {"as_of": None}
        judged["findings"].append(asdict(finding(
            "GMAIL_ESP_UNDERCOUNTS",
            f"{profile.title}: no Postmaster Tools data stored; the complaint rate here comes "
            "from ESP events, which undercount Gmail (it sends almost no per-message complaints).",
        )))  # fmt: skip
        return
    value, day, domain = found
    warn, fail = _line(profile)
    status = _status(value, warn, fail)
    judged["metrics"]["spam_rate"] = {
        "value": round(value, 6), "warn": warn, "fail": fail, "status": status,
        "source": "gmail_postmaster", "as_of": day.isoformat(), "domain": domain,
    }  # fmt: skip
    report["sources"]["gmail_postmaster"] = {"as_of": day.isoformat()}
    # Gmail's own figure is the one Gmail enforces: it replaces the ESP-based complaint rate.
    others = [m["status"] for n, m in judged["metrics"].items() if n != "complaint_rate"]
    judged["status"] = worst(others)
    judged["findings"] = [f for f in judged["findings"] if f["code"] != "RATES_LOW_VOLUME"]
    judged["findings"].append(asdict(finding(
        "GMAIL_SPAM_RATE_JUDGED",
        f"{profile.title}: Gmail's user-reported spam rate for {domain} on {day} is "
        f"{format_rate(value)} (Postmaster Tools); the ESP-based complaint rate is shown for "
        "reference.",
    )))  # fmt: skip
    if status in ("warn", "fail"):
        judged["findings"].append(asdict(finding(
            "RATE_OVER_FAIL" if status == "fail" else "RATE_OVER_WARN",
            f"{profile.title}: Gmail's spam rate is {format_rate(value)} on {day}, at or over the "
            f"{status} line of {format_rate((fail if status == 'fail' else warn) or 0)}.",
        )))  # fmt: skip


def _show_snds(
    judged: dict[str, Any],
    profile: LimitProfile,
    found: tuple[float, date] | None,
    report: dict[str, Any],
) -> None:
    report["sources"]["snds"] = {"as_of": found[1].isoformat() if found else None}
    if found is None:
        return
    value, day = found
    warn, fail = _line(profile)
    judged["metrics"]["snds_complaint_rate"] = {
        "value": round(value, 6), "warn": warn, "fail": fail,
        "status": _status(value, warn, fail), "source": "snds", "as_of": day.isoformat(),
    }  # fmt: skip
    if judged["status"] != "error":
        judged["status"] = worst(m["status"] for m in judged["metrics"].values())
