"""Generated reports: who made which report, with what parameters, and the files' hashes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class ReportRun(Base):
    """One generated report (the audit trail an auditor asks for).

    Reports asked for on the dashboard or by the schedule are rendered in the
    background: ``queued`` -> ``running`` (claimed by one worker) -> ``done`` or
    ``failed``. The CLI renders at once and records ``done``.
    """

    __tablename__ = "report_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    generated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    generated_by: Mapped[str] = mapped_column(String(100))
    # --from, --to, --as-of, masked, …
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    # [{"name": "report.pdf", "sha256": "…", "bytes": …}, …]
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="done", server_default="done")
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    # "compliance:monthly:2026-10" for scheduled reports: one run per period.
    schedule_key: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
