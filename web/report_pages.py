"""The Reports page: ask for a report, watch it render in the background, download it.

A request only queues the report (``reports.generate.queue_report``); the
scheduler's ``reports`` job renders it, and the run's page reloads itself
every few seconds (a ``<meta refresh>``, so it works without JavaScript)
until the files are there. Who may ask for and download what: the
compliance report is the compliance officer's (and an admin's), the
deliverability report the postmaster's (and an admin's).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from monitor.settings import REPORT_KINDS
from reports.generate import FORMATS, ReportError, ReportRequest, queue_report, report_file
from store.reports import ReportRun
from web.auth import ANY_ROLE, roles_required
from web.database import db
from web.settings import settings

blueprint = Blueprint("reports", __name__, url_prefix="/reports")

# Which role owns which report (admin may do everything).
OWNERS = {"compliance": "compliance", "deliverability": "postmaster"}
RECENT = 50


def _allowed(kind: str) -> bool:
    role: str = current_user.role
    return role == "admin" or OWNERS.get(kind) == role


def _run(run_id: int) -> ReportRun:
    run = db().get(ReportRun, run_id)
    if run is None or not _allowed(run.kind):
        abort(404)
    return run


def _day(field: str, default: date | None = None) -> date:
    text = request.form.get(field, "").strip()
    if not text:
        if default is None:
            raise ReportError(f"{field}: a date is needed")
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ReportError(f"{field}: {text!r} is not a date (YYYY-MM-DD)") from None


@blueprint.get("/")
@roles_required(*ANY_ROLE)
def index() -> Any:
    kinds = [kind for kind in REPORT_KINDS if _allowed(kind)]
    runs = db().scalars(
        select(ReportRun)
        .where(ReportRun.kind.in_(kinds))
        .order_by(ReportRun.id.desc())
        .limit(RECENT)
    )
    today = datetime.now(UTC).date()
    return render_template(
        "reports.html",
        kinds=kinds,
        formats=FORMATS,
        runs=list(runs),
        first=today.replace(day=1).isoformat(),
        today=today.isoformat(),
        may_unmask=current_user.role in ("admin", "compliance"),
    )


@blueprint.post("/")
@roles_required(*ANY_ROLE)
def ask() -> Any:
    kind = request.form.get("kind", "")
    if kind not in REPORT_KINDS or not _allowed(kind):
        abort(403)
    config = settings()
    unmasked = bool(request.form.get("unmasked")) and current_user.role in ("admin", "compliance")
    try:
        last = _day("to", datetime.now(UTC).date())
        report = ReportRequest(
            kind=kind,
            period_from=_day("from", last.replace(day=1)),
            period_to=last,
            as_of=_day("as_of", last),
            format=request.form.get("format", "pdf"),
            organisation=request.form.get("organisation", "").strip()
            or config.reports.organisation,
            masked=not unmasked,
            appendix_rows=config.reports.appendix_rows,
        )
    except ReportError as error:
        flash(f"Not queued: {error}.")
        return redirect(url_for("reports.index"))
    run = queue_report(db(), report, current_user.username, datetime.now(UTC))
    db().commit()
    return redirect(url_for("reports.show", run_id=run.id))


@blueprint.get("/<int:run_id>")
@roles_required(*ANY_ROLE)
def show(run_id: int) -> Any:
    return render_template("report.html", run=_run(run_id))


@blueprint.get("/<int:run_id>/<name>")
@roles_required(*ANY_ROLE)
def download(run_id: int, name: str) -> Any:
    path = report_file(settings(), _run(run_id), name)
    if path is None or not path.is_file():
        abort(404)
    return send_file(path.resolve(), as_attachment=True, download_name=name)
