"""Times as people read them in reports and on the compliance pages: ``7 Dec 2026, 06:49 UTC``."""

from __future__ import annotations

from datetime import UTC, date, datetime

# English month names whatever the process's locale (strftime's %b follows it).
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def display_time(moment: datetime | date | str | None) -> str:
    """``7 Dec 2026, 06:49 UTC`` for a time (naive times are UTC, as the store keeps them),
    ``7 Dec 2026`` for a date, an ISO string read as either; empty for None."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment) if "T" in moment else date.fromisoformat(moment)
    if not isinstance(moment, datetime):
        return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M} UTC"
