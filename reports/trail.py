"""The audit trail of generated reports."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from store.reports import ReportRun


def record_report(
    session: Session,
    kind: str,
    parameters: Mapping[str, Any],
    generated_by: str,
    files: list[Path],
    now: datetime,
) -> ReportRun:
    """Keep who generated which report with what parameters, and each file's SHA-256."""
    run = ReportRun(
        kind=kind,
        generated_at=now,
        generated_by=generated_by,
        parameters=dict(parameters),
        files=[
            {
                "name": path.name,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "bytes": path.stat().st_size,
            }
            for path in files
        ],
    )
    session.add(run)
    session.flush()
    return run
