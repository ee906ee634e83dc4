"""The retention purge in words, the same on the overview, the compliance page and the PDF."""

from __future__ import annotations

from datetime import datetime

from reports.times import display_time


def purge_sentence(at: datetime, erased: int, retention_days: int) -> str:
    """``47 contacts erased on 5 Dec 2026, 06:49 UTC (retention 30 days)``."""
    people = "contact" if erased == 1 else "contacts"
    return f"{erased} {people} erased on {display_time(at)} (retention {retention_days} days)"
