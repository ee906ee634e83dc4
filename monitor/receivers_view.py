"""What the dashboard and the API show of the receivers' own data, and how fresh it is."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.gmail import gmail_status
from monitor.settings import GmailSettings
from store.events import Event
from store.receivers import SndsBlock, SndsDay


def snds_latest(session: Session) -> dict[str, Any]:
    """Each IP's latest SNDS day, and the blocked ranges as last fetched."""
    latest = select(SndsDay.ip, func.max(SndsDay.day).label("day")).group_by(SndsDay.ip).subquery()
    rows = session.scalars(
        select(SndsDay)
        .join(latest, (SndsDay.ip == latest.c.ip) & (SndsDay.day == latest.c.day))
        .order_by(SndsDay.ip)
    )
    blocks = list(session.scalars(select(SndsBlock).where(SndsBlock.blocked)))
    return {
        "ips": {row.ip: snds_day_json(row) for row in rows},
        "blocked": [
            {"first_ip": b.first_ip, "last_ip": b.last_ip, "details": b.details} for b in blocks
        ],
    }


def arf_latest(session: Session, today: date, days: int = 30) -> dict[str, Any]:
    """Complaints from feedback-loop reports in the last ``days`` days, and the latest one's day."""
    first = today - timedelta(days=days - 1)
    count, last = session.execute(
        select(func.count(), func.max(Event.day)).where(
            Event.source == "arf", Event.type == "complaint", Event.day >= first
        )
    ).one()
    return {
        "days": days,
        "complaints": int(count or 0),
        "as_of": last.isoformat() if last else None,
    }


def receivers_overview(session: Session, settings: GmailSettings, today: date) -> dict[str, Any]:
    """Gmail Postmaster Tools, SNDS and ARF as stored now (``/api/v1/receivers``)."""
    return {
        "gmail_postmaster": gmail_status(session, settings),
        "snds": snds_latest(session),
        "arf": arf_latest(session, today),
    }


def snds_day_json(row: SndsDay) -> dict[str, Any]:
    """One IP's SNDS day as the API and `snds fetch --format json` show it."""
    return {
        "day": row.day.isoformat(),
        "filter_result": row.filter_result,
        "complaint_rate": row.complaint_rate,
        "complaint_text": row.complaint_text,
        "trap_hits": row.trap_hits,
        "message_recipients": row.message_recipients,
        "sample_helo": row.sample_helo,
        "sample_mail_from": row.sample_mail_from,
    }
