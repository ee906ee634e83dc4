"""The reports' scheduled jobs: render queued reports, and queue and mail the periodic ones.

``reports`` renders queued runs every few seconds (the dashboard's Reports
page polls until its run is done). ``report_schedule`` runs hourly and queues
the reports ``[reports] weekly`` and ``monthly`` name for the latest complete
period — the week to last Sunday, on Mondays; the month before, from the 1st
— once per period: the run's ``schedule_key`` is unique, so a second worker
or a restart cannot queue it twice. When a scheduled run is rendered, a
``report`` notification goes through the alert channels with the files'
names and hashes (e-mail attaches them up to ``attach_max_bytes``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.channels import channel_names
from monitor.jobs import ScheduledJob, bind
from monitor.outbox import enqueue
from monitor.settings import Settings
from reports.generate import ReportRequest, queue_report, render_queued, report_directory
from store.reports import ReportRun

RENDER_EVERY = timedelta(seconds=15)
SCHEDULE_EVERY = timedelta(hours=1)


def latest_periods(today: date, settings: Settings) -> Iterator[tuple[str, str, date, date]]:
    """``(kind, schedule_key, first, last)`` of each scheduled report's latest complete period."""
    week_end = today - timedelta(days=today.weekday() + 1)  # the Sunday before this week
    week_start = week_end - timedelta(days=6)
    month_end = today.replace(day=1) - timedelta(days=1)
    month_start = month_end.replace(day=1)
    for kind in settings.reports.weekly:
        yield kind, f"{kind}:weekly:{week_start.isoformat()}", week_start, week_end
    for kind in settings.reports.monthly:
        yield kind, f"{kind}:monthly:{month_start.strftime('%Y-%m')}", month_start, month_end


def schedule_reports(session: Session, now: datetime, settings: Settings) -> str:
    """Queue each scheduled report whose latest period has none yet."""
    queued = []
    for kind, key, first, last in latest_periods(now.date(), settings):
        if session.scalar(select(ReportRun.id).where(ReportRun.schedule_key == key)):
            continue
        request = ReportRequest(
            kind=kind,
            period_from=first,
            period_to=last,
            as_of=last,
            organisation=settings.reports.organisation,
            appendix_rows=settings.reports.appendix_rows,
        )
        try:
            with session.begin_nested():
                queue_report(session, request, "schedule", now, schedule_key=key)
        except IntegrityError:
            continue  # another worker queued it between our look and our insert
        queued.append(key)
    return f"queued {', '.join(queued)}" if queued else "nothing due"


def _announce(session: Session, run: ReportRun, settings: Settings, now: datetime) -> None:
    """Mail a finished scheduled report through the alert channels."""
    if run.schedule_key is None:
        return  # asked for on the dashboard: the person who asked downloads it
    directory = report_directory(settings, run)
    link = settings.alerts.dashboard_url
    payload = {
        "event": "report",
        "time": now.isoformat(),
        "alert_id": None,
        "report_id": run.id,
        "kind": run.kind,
        "period_from": run.parameters["from"],
        "period_to": run.parameters["to"],
        "files": run.files,
        "attachments": [
            str(directory / entry["name"])
            for entry in run.files
            if entry["bytes"] <= settings.reports.attach_max_bytes
        ],
        "link": f"{link.rstrip('/')}/reports/{run.id}" if link else None,
    }
    enqueue(session, None, "report", payload, channel_names(settings), now)


def render_reports(session: Session, now: datetime, settings: Settings) -> str:
    """Render what is queued; mail the scheduled ones."""
    finished = render_queued(
        session, settings, now, on_done=lambda s, run: _announce(s, run, settings, now)
    )
    if not finished:
        return "nothing queued"
    return ", ".join(f"report {run.id} {run.status}" for run in finished)


def report_jobs(settings: Settings) -> list[ScheduledJob]:
    """The reports' jobs, for ``run_worker(extra_jobs=...)``."""
    return [
        ScheduledJob("reports", bind(render_reports, settings), RENDER_EVERY),
        ScheduledJob("report_schedule", bind(schedule_reports, settings), SCHEDULE_EVERY),
    ]
