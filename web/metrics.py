"""``/metrics``: Prometheus text of check statuses, listings, rates, job runs and DMARC figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select

from compliance.rates.limit_profiles import load_profiles
from compliance.rates.report import rates_report
from monitor.inbox import kept_count, waiting
from store.models import ListingState, TargetStatus
from store.scheduling import JobRun
from store.timestamps import as_utc
from web.api import READERS, token_required
from web.database import db
from web.settings import settings

blueprint = Blueprint("metrics", __name__)
# The window of the DMARC gauges: receivers report a day at a time, a week smooths it.
DMARC_DAYS = 7
STATUS_VALUES = {"pass": 0, "warn": 1, "error": 2, "fail": 3}


@blueprint.get("/metrics")
@token_required(*READERS)
def metrics() -> Any:
    """Read-only figures for scrapers (no personal data), with an API token as bearer."""
    registry = CollectorRegistry()
    check = Gauge(
        "postwarden_check_status",
        "Latest status of a check (0 pass, 1 warn, 2 error, 3 fail)",
        ["target", "check"],
        registry=registry,
    )
    for row in db().scalars(select(TargetStatus)):
        check.labels(row.target, row.check).set(STATUS_VALUES[row.status])
    listed = Gauge(
        "postwarden_blocklist_listed",
        "1 while a target is listed on a zone",
        ["target", "zone"],
        registry=registry,
    )
    for state in db().scalars(select(ListingState).where(ListingState.state == "listed")):
        listed.labels(state.target, state.zone).set(1)
    config = settings()
    report = rates_report(
        db(),
        load_profiles(config.rates.profiles_dir, config.rates.esps),
        as_of=datetime.now(UTC).date(),
        days=config.rates.days,
        min_delivered=config.rates.min_delivered,
    )
    rate = Gauge(
        "postwarden_rate",
        "Rate over the configured window, per profile and metric",
        ["profile", "metric"],
        registry=registry,
    )
    for name, profile in report.profiles.items():
        for metric, judged in profile.metrics.items():
            if judged.value is not None:
                rate.labels(name, metric).set(judged.value)
    last = Gauge(
        "postwarden_job_last_run_timestamp_seconds",
        "When each job last started",
        ["job"],
        registry=registry,
    )
    for job, started in db().execute(
        select(JobRun.job, func.max(JobRun.started_at)).group_by(JobRun.job)
    ):
        last.labels(job).set(as_utc(started).timestamp())
    requests, events = waiting(db())
    inbox = Gauge(
        "postwarden_inbox_waiting",
        "Webhook requests and events accepted and not yet imported",
        ["unit"],
        registry=registry,
    )
    inbox.labels("requests").set(requests)
    inbox.labels("events").set(events)
    kept = Gauge(
        "postwarden_inbox_kept",
        "Webhook requests set aside because they could not be imported (postwarden inbox list)",
        registry=registry,
    )
    kept.set(kept_count(db()))
    _dmarc_gauges(registry)
    _engine_gauges(registry, config.schedule.heartbeat_seconds)
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _engine_gauges(registry: CollectorRegistry, heartbeat_seconds: float) -> None:
    """The task engine's queue depth, stalled jobs and workers (PostgreSQL only)."""
    from monitor.engine_status import engine_status

    status = engine_status(db(), heartbeat_seconds)
    if status is None:
        return
    jobs = Gauge("postwarden_engine_jobs", "Task engine jobs by queue and status (todo is "
                 "the queue depth)", ["queue", "status"], registry=registry)  # fmt: skip
    for (queue, state), count in status.jobs.items():
        jobs.labels(queue, state).set(count)
    Gauge("postwarden_engine_stalled_jobs", "Jobs running on a worker that is gone or "
          "silent; put back in the queue by the next stalled-job check",
          registry=registry).set(status.stalled)  # fmt: skip
    Gauge("postwarden_engine_workers", "Workers whose heartbeat is recent",
          registry=registry).set(status.workers)  # fmt: skip
    Gauge("postwarden_sweeps_open", "Sweeps planned and not yet finished",
          registry=registry).set(status.open_sweeps)  # fmt: skip
    Gauge("postwarden_sweep_chunks_waiting", "Chunks of open sweeps not yet recorded",
          registry=registry).set(status.chunks_waiting)  # fmt: skip


def _dmarc_gauges(registry: CollectorRegistry) -> None:
    """DMARC messages and pass rate, and failed TLS sessions, per domain over the last week."""
    from compliance.dmarc_reports.summary import domain_figures, tls_summary

    end = datetime.now(UTC).date()
    start = end - timedelta(days=DMARC_DAYS - 1)
    messages = Gauge(
        "postwarden_dmarc_messages",
        "Messages in DMARC aggregate reports, last 7 days",
        ["domain"],
        registry=registry,
    )
    passing = Gauge(
        "postwarden_dmarc_pass_rate",
        "Fraction of reported messages passing DMARC, last 7 days",
        ["domain"],
        registry=registry,
    )
    for domain, (total, passed) in domain_figures(db(), start=start, end=end).items():
        messages.labels(domain).set(total)
        if total:
            passing.labels(domain).set(passed / total)
    failed = Gauge(
        "postwarden_tls_failed_sessions",
        "Failed TLS sessions in SMTP TLS reports, last 7 days",
        ["domain"],
        registry=registry,
    )
    for domain, figures in tls_summary(db(), start=start, end=end).items():
        failed.labels(domain).set(figures["failed"])
