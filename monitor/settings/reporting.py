"""[reports]: where generated reports are kept and which ones are mailed on a schedule."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReportSettings:
    """Where generated reports are kept and which ones are mailed on a schedule."""

    # Files of reports rendered in the background (dashboard, schedule); with
    # several hosts it must be shared storage.
    directory: Path = Path("postwarden-reports")
    # Report kinds mailed through the alert channels: weekly (Mondays, the
    # week before) and monthly (the 1st, the month before).
    weekly: tuple[str, ...] = ()
    monthly: tuple[str, ...] = ()
    organisation: str = ""
    appendix_rows: int = 25
    # Larger PDFs are linked, not attached.
    attach_max_bytes: int = 10 * 1024 * 1024
