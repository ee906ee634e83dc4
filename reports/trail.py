"""The audit trail of generated reports."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from store.reports import ReportRun


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read in chunks (an offender CSV may be hundreds of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_entries(files: list[Path]) -> list[dict[str, Any]]:
    """Each file's name, SHA-256 and size, as the trail keeps them."""
    return [
        {"name": path.name, "sha256": sha256_of(path), "bytes": path.stat().st_size}
        for path in files
    ]


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
        files=file_entries(files),
        status="done",
    )
    session.add(run)
    session.flush()
    return run
