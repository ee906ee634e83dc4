"""Scheduled jobs: plain functions ``(session, now) -> outcome`` that the scheduler only wires.

Each job is written as ``job(session, now, settings)``; :func:`make_jobs`
binds the settings. A job leaves its results pending in the session and its
caller commits them: the scheduler does so in one transaction with the run's
``ok``, so a run taken over by another worker stores nothing. Sweeps end
their reading transaction before they go to DNS, so none is held open while
thousands of lookups run. The delivery, report and ingest jobs commit each
claim or batch as they go: each is idempotent by itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import delete, make_url, select
from sqlalchemy.orm import Session

from checks.blocklists import check_blocklists
from checks.dns import DnsSweep
from checks.results import TargetResult
from checks.sweep import check_targets
from checks.targets import Target
from compliance.audit.list_audit import run_audit, store_audit
from compliance.contacts.erasure import purge_retention
from monitor import sweep_batches
from monitor.alerting import list_alerts, policy_of, update_alerts
from monitor.blocklist_history import recent_listings
from monitor.blocklist_plan import make_plan
from monitor.channels import build_transports, channel_names
from monitor.gmail import fetch_gmail
from monitor.history import record_run, record_run_in_batches
from monitor.inbox import drain_inbox
from monitor.outbox import deliver_due, enqueue
from monitor.settings import Settings
from monitor.snds import fetch_snds
from monitor.sweep_batches import ResultSpool, sweep_in_batches
from monitor.targets import (
    MonitoredTarget,
    active_target_pages,
    alert_preferences,
    list_targets_named,
)
from monitor.transport_history import previous_policies, transport_plan
from store.alerting import Notification
from store.models import CheckRecord, CheckRun
from store.partitions import delete_events_before
from store.scheduling import JobRun
from store.timestamps import as_utc

Job = Callable[[Session, datetime], str]


@dataclass(frozen=True)
class ScheduledJob:
    """A job and how often it runs."""

    name: str
    run: Job
    interval: timedelta


def _active_batches(
    session: Session, kinds: Sequence[str] = ("domain", "ip")
) -> Iterator[list[Target]]:
    """The targets not paused as probes take them, a batch at a time, each batch read
    in a transaction of its own that ends before the batch goes to DNS."""
    for page in active_target_pages(session, sweep_batches.BATCH_SIZE, kinds):
        session.commit()
        yield [target.as_target() for target in page]
    session.commit()


def _record(
    session: Session,
    results: Sequence[TargetResult],
    targets: Sequence[MonitoredTarget],
    now: datetime,
    settings: Settings,
    trigger: str,
) -> str:
    record_run(session, results, started_at=now, finished_at=now, trigger=trigger)
    events = update_alerts(
        session,
        results,
        now,
        policy_of(settings),
        channels=channel_names(settings),
        dashboard_url=settings.alerts.dashboard_url,
        alert_on_warn={target.name: target.alert_on_warn for target in targets},
    )
    return f"{len(results)} targets checked, {len(events)} alert transitions"


def _record_spooled(
    session: Session,
    spool: ResultSpool,
    now: datetime,
    settings: Settings,
    trigger: str,
) -> str:
    """Record a sweep's spooled results a batch at a time, in the job's transaction.

    Each batch's ``alert_on_warn`` is read as it is recorded: a target's
    choice changed during the sweep is the one its alert follows.
    """
    transitions = 0

    def alert(results: Sequence[TargetResult]) -> None:
        nonlocal transitions
        transitions += len(
            update_alerts(
                session,
                results,
                now,
                policy_of(settings),
                channels=channel_names(settings),
                dashboard_url=settings.alerts.dashboard_url,
                alert_on_warn=alert_preferences(session, [result.target for result in results]),
            )
        )

    try:
        run = record_run_in_batches(
            session,
            spool.read(),
            started_at=now,
            finished_at=now,
            trigger=trigger,
            each_batch=alert,
        )
    finally:
        spool.close()
    return f"{run.target_count} targets checked, {transitions} alert transitions"


def sweep_authentication(session: Session, now: datetime, settings: Settings) -> str:
    """SPF, DMARC, DKIM and MX of every domain, PTR of every IP; then alerts.

    In batches (:mod:`monitor.sweep_batches`) sharing one DNS sweep.
    """
    sweep = DnsSweep(settings.dns)
    spool = sweep_in_batches(
        _active_batches(session),
        lambda batch: check_targets(batch, concurrency=settings.concurrency, sweep=sweep),
        after_batch=sweep.cache.release_unshared,
    )
    if not spool.targets:
        spool.close()
        return "no targets"
    return _record_spooled(session, spool, now, settings, "auth_sweep")


def check_now(session: Session, name: str, kind: str, now: datetime, settings: Settings) -> str:
    """One target's authentication checks now (the dashboard's "check now"), recorded
    and alerted like a sweep."""
    targets = [t for t in list_targets_named(session, [name]) if t.kind == kind]
    session.commit()
    if not targets:
        return f"{name} is not monitored"
    results = check_targets([targets[0].as_target()], settings.dns, concurrency=8)
    return _record(session, results, targets, now, settings, "check_now")


def sweep_transport(session: Session, now: datetime, settings: Settings) -> str:
    """MTA-STS, TLS-RPT, STARTTLS, DNSSEC, DANE and BIMI of every domain; then alerts.

    The MTA-STS policies earlier runs fetched come from the history, a batch's
    with the batch, so that a policy changed under the same id, or gone while
    it was enforce, is told. In batches sharing one DNS sweep, like the
    authentication sweep.
    """
    plan = transport_plan(settings, now)
    if plan is None:
        return "transport checks are disabled"
    sweep = DnsSweep(settings.dns)

    def check(batch: Sequence[Target]) -> list[TargetResult]:
        # Between batches no probe reads the plan: its policies are the next batch's.
        plan.previous_policies = previous_policies(session, [target.name for target in batch])
        session.commit()
        # The authentication checks are the authentication sweep's to record.
        return check_targets(
            batch,
            concurrency=settings.concurrency,
            sweep=sweep,
            transport=plan,
            authentication=False,
        )

    spool = sweep_in_batches(
        _active_batches(session, ("domain",)), check, after_batch=sweep.cache.release_unshared
    )
    if not spool.targets:
        spool.close()
        return "no domains"
    return _record_spooled(session, spool, now, settings, "transport_sweep")


def sweep_blocklists(session: Session, now: datetime, settings: Settings) -> str:
    """Every domain and IP against the blocklists, within the query budget; then alerts."""
    plan = make_plan(settings.blocklists)
    if plan is None:
        return "blocklists are disabled"
    interval = timedelta(minutes=settings.blocklists.recheck_minutes)

    def check(batch: Sequence[Target]) -> list[TargetResult]:
        # The verdicts young enough to reuse, read for this batch alone.
        reuse = recent_listings(session, [target.name for target in batch], now, interval)
        session.commit()
        found = check_blocklists(batch, replace(plan, reuse=reuse), settings.dns)
        return [
            TargetResult(target.name, target.kind, {"blocklists": found[target.name]})
            for target in batch
            if target.name in found
        ]

    spool = sweep_in_batches(_active_batches(session), check)
    if not spool.targets:
        spool.close()
        return "no targets"
    return _record_spooled(session, spool, now, settings, "blocklist_sweep")


def deliver_notifications(session: Session, now: datetime, settings: Settings) -> str:
    """Send what the outbox holds that is due."""
    return str(deliver_due(session, now, build_transports(settings)))


def ingest_webhooks(session: Session, now: datetime, settings: Settings) -> str:
    """Import the webhook requests waiting in the inbox (each batch commits as it goes:
    its import and the requests' deletion are one transaction)."""
    return str(drain_inbox(session, now))


def purge_history(session: Session, now: datetime, settings: Settings) -> str:
    """Drop check results, delivered notifications and job runs older than the history."""
    events = ""
    if settings.schedule.event_history_days:
        events = "; " + _purge_events(session, now, settings.schedule.event_history_days)
        # Dropping a month locks the events against everyone until the commit: committed
        # first, before the erasure below holds rows an import may be waiting for. (Ahead
        # of the run's own commit, like the inbox's batches: a purge done twice is one.)
        session.commit()
    cutoff = now - timedelta(days=settings.schedule.history_days)
    old_runs = select(CheckRun.id).where(CheckRun.started_at < cutoff)
    results = session.execute(delete(CheckRecord).where(CheckRecord.run_id.in_(old_runs)))
    session.execute(delete(CheckRun).where(CheckRun.started_at < cutoff))
    sent = session.execute(
        delete(Notification).where(
            Notification.state.in_(("sent", "failed")), Notification.created_at < cutoff
        )
    )
    session.execute(delete(JobRun).where(JobRun.started_at < cutoff))
    # Contacts past the retention period: erased, their hashes suppressed.
    erased = purge_retention(session, now.date(), now, settings.audit)
    return (
        f"{results.rowcount} check results and {sent.rowcount} notifications "  # type: ignore[attr-defined]
        f"older than {cutoff.date()} removed; {erased} contacts past retention erased{events}"
    )


def _purge_events(session: Session, now: datetime, days: int) -> str:
    """Remove the delivery events older than ``days`` (whole months at once where partitioned)."""
    cutoff = now - timedelta(days=days)
    dropped, deleted = delete_events_before(session.connection(), cutoff)
    months = f"{len(dropped)} monthly partitions of events dropped and " if dropped else ""
    return f"{months}{deleted} events older than {cutoff.date()} deleted"


def audit_list(session: Session, now: datetime, settings: Settings) -> str:
    """The daily list audit, kept in the audit history."""
    report = run_audit(session, now.date(), settings.audit)
    store_audit(session, report, now)
    failing = [name for name, rule in report.rules.items() if rule.count]
    return f"audit {report.status}: {report.contacts} contacts; flagged by {failing or 'none'}"


def send_digest(session: Session, now: datetime, settings: Settings) -> str:
    """One message a day listing the open alerts (if [alerts] digest is on)."""
    if not settings.alerts.digest:
        return "digest is off"
    open_alerts = list_alerts(session, state="open")
    payload = {
        "event": "digest",
        "time": now.isoformat(),
        "alert_id": None,
        "link": settings.alerts.dashboard_url,
        "alerts": [
            {
                "target": alert.target,
                "check": alert.check,
                "severity": alert.severity,
                "summary": alert.summary,
                "opened_at": as_utc(alert.opened_at).isoformat(),
            }
            for alert in open_alerts
        ],
    }
    enqueue(session, None, "digest", payload, channel_names(settings), now)
    return f"digest of {len(open_alerts)} open alerts queued"


def bind(job: Callable[[Session, datetime, Settings], str], settings: Settings) -> Job:
    """``job`` with its settings bound, as the scheduler calls it."""
    return lambda session, now: job(session, now, settings)


def _planned_sweeps(settings: Settings) -> dict[str, Callable[[Session, datetime, Settings], str]]:
    """PostgreSQL: sweep jobs that only plan, deferring chunks every worker takes."""
    from monitor.sweep_chunks import plan_sweep
    from monitor.task_engine import defer_chunk_on, make_app

    defer = defer_chunk_on(make_app(settings))

    def planner(kind: str) -> Callable[[Session, datetime, Settings], str]:
        return lambda session, now, settings: plan_sweep(kind, session, now, settings, defer)

    return {kind: planner(kind) for kind in ("auth_sweep", "blocklist_sweep", "transport_sweep")}


def make_jobs(settings: Settings, extra: Iterable[ScheduledJob] = ()) -> dict[str, ScheduledJob]:
    """Every job (and ``extra`` ones), its settings bound, at the interval the settings give."""
    schedule = settings.schedule
    sweeps: dict[str, Callable[[Session, datetime, Settings], str]] = {
        "auth_sweep": sweep_authentication,
        "blocklist_sweep": sweep_blocklists,
        "transport_sweep": sweep_transport,
    }
    if make_url(settings.database_url).get_backend_name() == "postgresql":
        sweeps = _planned_sweeps(settings)

    jobs = [
        ScheduledJob("auth_sweep", bind(sweeps["auth_sweep"], settings),
                     timedelta(minutes=schedule.auth_minutes)),
        ScheduledJob("blocklist_sweep", bind(sweeps["blocklist_sweep"], settings),
                     timedelta(minutes=schedule.blocklist_minutes)),
        ScheduledJob("transport_sweep", bind(sweeps["transport_sweep"], settings),
                     timedelta(minutes=schedule.transport_minutes)),
        ScheduledJob("deliver", bind(deliver_notifications, settings),
                     timedelta(seconds=schedule.deliver_seconds)),
        ScheduledJob("ingest", bind(ingest_webhooks, settings),
                     timedelta(seconds=schedule.ingest_seconds)),
        ScheduledJob("purge", bind(purge_history, settings),
                     timedelta(hours=schedule.purge_hours)),
        ScheduledJob("digest", bind(send_digest, settings), timedelta(days=1)),
        ScheduledJob("audit", bind(audit_list, settings), timedelta(days=1)),
        ScheduledJob("gmail", bind(fetch_gmail, settings),
                     timedelta(hours=settings.gmail.fetch_hours)),
        ScheduledJob("snds", bind(fetch_snds, settings),
                     timedelta(hours=settings.snds.fetch_hours)),
    ]  # fmt: skip
    if settings.dmarc.imap_url:
        from monitor.dmarc_jobs import poll_report_mailbox

        jobs.append(ScheduledJob("dmarc_mailbox", bind(poll_report_mailbox, settings),
                                 timedelta(minutes=schedule.mailbox_minutes)))  # fmt: skip
    if settings.arf.imap_url:
        from monitor.dmarc_jobs import poll_feedback_mailbox

        jobs.append(ScheduledJob("feedback_mailbox", bind(poll_feedback_mailbox, settings),
                                 timedelta(minutes=schedule.mailbox_minutes)))  # fmt: skip
    return {job.name: job for job in [*jobs, *extra]}
