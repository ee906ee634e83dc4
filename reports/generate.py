"""Generating a report: one request, its files, and the audit-trail row.

The CLI renders at once (:func:`generate_report`). The dashboard and the
schedule only queue a request (:func:`queue_report`); the scheduler's
``reports`` job renders queued ones in the background (:func:`render_queued`),
because a PDF over a large list takes seconds to minutes — never a request's
time. A run is claimed with a conditional UPDATE, so with several workers
each report is rendered once; one left ``running`` past the lease (its
worker died) is claimed again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from checks.errors import BadInput
from compliance.rates.limit_profiles import load_profiles
from monitor.settings import REPORT_KINDS, Settings
from reports.compliance_report import compliance_report, write_offenders_csv
from reports.deliverability_report import deliverability_report, write_deliverability_csv
from reports.render import render_html, render_pdf
from reports.roi_section import roi_section
from reports.trail import file_entries, record_report
from store.reports import ReportRun

logger = logging.getLogger(__name__)

FORMATS = ("pdf", "html", "csv")
# A PDF of a million contacts renders in about 15 s; a run claimed this long
# ago belongs to a worker that died.
CLAIM_LEASE = timedelta(minutes=30)


class ReportError(BadInput):
    """A report request that cannot be rendered as asked."""


@dataclass(frozen=True)
class ReportRequest:
    """What a report covers and how it is written."""

    kind: str
    period_from: date
    period_to: date
    as_of: date
    format: str = "pdf"
    organisation: str = ""
    masked: bool = True
    appendix_rows: int = 25

    def __post_init__(self) -> None:
        if self.kind not in REPORT_KINDS:
            raise ReportError(f"unknown report {self.kind!r} (one of {', '.join(REPORT_KINDS)})")
        if self.format not in FORMATS:
            raise ReportError(f"unknown format {self.format!r} (one of {', '.join(FORMATS)})")
        if self.period_from > self.period_to:
            raise ReportError("the period starts after it ends")

    def parameters(self) -> dict[str, Any]:
        """The request as the JSON kept in ``report_runs.parameters``."""
        values = asdict(self)
        values["from"] = values.pop("period_from").isoformat()
        values["to"] = values.pop("period_to").isoformat()
        values["as_of"] = self.as_of.isoformat()
        values.pop("kind")
        return values

    @classmethod
    def from_run(cls, run: ReportRun) -> ReportRequest:
        """The request a queued run was made with."""
        values = dict(run.parameters)
        return cls(
            kind=run.kind,
            period_from=date.fromisoformat(values["from"]),
            period_to=date.fromisoformat(values["to"]),
            as_of=date.fromisoformat(values["as_of"]),
            format=values.get("format", "pdf"),
            organisation=values.get("organisation", ""),
            masked=values.get("masked", True),
            appendix_rows=values.get("appendix_rows", 25),
        )

    @property
    def file_stem(self) -> str:
        """``compliance-2026-10-01-2026-10-31``: what the files are called by default."""
        return f"{self.kind}-{self.period_from.isoformat()}-{self.period_to.isoformat()}"


def render_report(
    session: Session, settings: Settings, request: ReportRequest, output: Path, generated_by: str
) -> list[Path]:
    """Write the report to ``output`` (a PDF or HTML gets its CSV beside it); the files written."""
    suffix = "-offenders" if request.kind == "compliance" else "-events"
    csv_path = output if request.format == "csv" else output.with_name(f"{output.stem}{suffix}.csv")
    if request.kind == "compliance":
        csv_file = write_offenders_csv(
            session, request.as_of, settings.audit, csv_path, masked=request.masked
        )
    else:
        csv_file = write_deliverability_csv(
            session, request.period_from, request.period_to, csv_path
        )
    if request.format == "csv":
        return [csv_path]
    profiles = load_profiles(settings.rates.profiles_dir, settings.rates.esps)
    if request.kind == "compliance":
        data = compliance_report(
            session, period_from=request.period_from, period_to=request.period_to,
            as_of=request.as_of, organisation=request.organisation, generated_by=generated_by,
            profiles=profiles, thresholds=settings.audit, masked=request.masked,
            appendix_rows=request.appendix_rows, min_delivered=settings.rates.min_delivered,
        ).template_context()  # fmt: skip
    else:
        data = deliverability_report(
            session,
            period_from=request.period_from,
            period_to=request.period_to,
            organisation=request.organisation,
            generated_by=generated_by,
            profiles=profiles,
            min_delivered=settings.rates.min_delivered,
            unsubscribe_grace_days=settings.audit.unsubscribe_grace_days,
        ).template_context()
        data["roi"] = roi_section(session, settings, request.period_from, request.period_to)
    data["csv_file"] = csv_file
    html = render_html(f"{request.kind}.html", data)
    output.write_bytes(render_pdf(html) if request.format == "pdf" else html.encode("utf-8"))
    return [output, csv_path]


def generate_report(
    session: Session,
    settings: Settings,
    request: ReportRequest,
    output: Path,
    generated_by: str,
    now: datetime,
) -> ReportRun:
    """Render the report now and record it (the CLI's path); the caller commits."""
    files = render_report(session, settings, request, output, generated_by)
    run = record_report(session, request.kind, request.parameters(), generated_by, files, now)
    run.finished_at = now
    return run


def queue_report(
    session: Session,
    request: ReportRequest,
    requested_by: str,
    now: datetime,
    *,
    schedule_key: str | None = None,
) -> ReportRun:
    """Ask for a report to be rendered in the background; the caller commits."""
    run = ReportRun(
        kind=request.kind,
        generated_at=now,
        generated_by=requested_by,
        parameters=request.parameters(),
        files=[],
        status="queued",
        schedule_key=schedule_key,
    )
    session.add(run)
    session.flush()
    return run


def report_directory(settings: Settings, run: ReportRun) -> Path:
    """Where a background run's files are kept: one folder per run."""
    return settings.reports.directory / str(run.id)


def report_file(settings: Settings, run: ReportRun, name: str) -> Path | None:
    """A file of a finished run, if ``name`` is one of its recorded files."""
    if run.status != "done" or name not in {entry["name"] for entry in run.files}:
        return None
    return report_directory(settings, run) / name


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Queued runs, and runs whose worker has held them past the lease."""
    return or_(
        ReportRun.status == "queued",
        (ReportRun.status == "running") & (ReportRun.claimed_at < now - CLAIM_LEASE),
    )


def _claim(session: Session, run_id: int, now: datetime) -> bool:
    claimed = session.execute(
        update(ReportRun)
        .where(ReportRun.id == run_id, _claimable(now))
        .values(status="running", claimed_at=now)
    )
    session.commit()
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def render_queued(
    session: Session,
    settings: Settings,
    now: datetime,
    on_done: Callable[[Session, ReportRun], None] | None = None,
) -> list[ReportRun]:
    """Render every queued report (and any whose worker died); the runs finished.

    A report that cannot be rendered is marked ``failed`` with the reason,
    logged, and the next one is rendered. ``on_done(session, run)`` is called
    for each finished run in its transaction (the schedule mails them).
    """
    waiting = session.scalars(
        select(ReportRun.id).where(_claimable(now)).order_by(ReportRun.id)
    ).all()
    session.commit()
    finished = []
    for run_id in waiting:
        if not _claim(session, run_id, now):
            continue  # another worker got there first
        run = session.get(ReportRun, run_id)
        assert run is not None
        try:
            request = ReportRequest.from_run(run)
            directory = report_directory(settings, run)
            directory.mkdir(parents=True, exist_ok=True)
            output = directory / f"{request.file_stem}.{request.format}"
            files = render_report(session, settings, request, output, run.generated_by)
        except Exception as error:
            # Whatever stops one report (a full disk, a bad stored request)
            # must not stop the others: it is kept on the run and logged.
            session.rollback()
            logger.exception("report %s could not be rendered", run_id)
            run.status, run.error = "failed", f"{type(error).__name__}: {error}"
        else:
            run.status, run.files = "done", file_entries(files)
            if on_done is not None:
                on_done(session, run)
        run.finished_at = now
        session.commit()
        finished.append(run)
    return finished
