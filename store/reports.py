"""Generated reports: who made which report, with what parameters, and the files' hashes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class ReportRun(Base):
    """One generated report (the audit trail an auditor asks for)."""

    __tablename__ = "report_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    generated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    generated_by: Mapped[str] = mapped_column(String(100))
    # --from, --to, --as-of, masked, …
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    # [{"name": "report.pdf", "sha256": "…", "bytes": …}, …]
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
