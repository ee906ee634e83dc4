"""Sweeps shared by every worker (PostgreSQL): the leader plans chunks, any worker records one.

The leader's scheduled sweep job only plans: one check run, one ``sweeps``
row, one ``sweep_chunks`` row per ``chunk_size`` targets, and one task-engine
job per chunk, deferred on the same connection, so the plan and its jobs are
committed with the job's run or not at all.

A worker takes a chunk, checks its targets (no transaction open while DNS
answers), then records them in one transaction with its alerts and their
outbox rows, under a lock on the chunk's row and only while the chunk is not
yet done. A chunk whose worker died before that commit left nothing, and is
run again whole; one recorded by a worker believed dead but not is refused
the second time (and the unique history index on run, target and check
would refuse it too). So every target is recorded once per sweep, and no
alert is opened twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from checks.blocklists import check_blocklists
from checks.findings import worst
from checks.results import TargetResult
from checks.sweep import check_targets
from checks.targets import Target
from checks.transport import TRANSPORT_CHECKS
from monitor.alerting import policy_of, update_alerts
from monitor.blocklist_history import recent_listings
from monitor.blocklist_pace import shared_pace
from monitor.blocklist_plan import make_plan
from monitor.channels import channel_names
from monitor.history import record_results, start_run
from monitor.settings import Settings
from monitor.targets import MonitoredTarget, active_target_pages, list_targets_named
from monitor.transport_history import transport_plan
from store.models import CheckRun
from store.sweeps import Sweep, SweepChunk

logger = logging.getLogger(__name__)

# (session, sweep id, chunk indexes): defers the chunks' jobs in the session's transaction.
Defer = Callable[[Session, int, Sequence[int]], None]
# Checks a chunk's targets; reads through the session, commits before going to DNS.
ChunkCheck = Callable[[Session, list[Target], datetime, Settings], list[TargetResult]]


def _check_authentication(
    session: Session, targets: list[Target], now: datetime, settings: Settings
) -> list[TargetResult]:
    session.commit()
    return check_targets(targets, settings.dns, concurrency=settings.concurrency)


def _check_blocklists(
    session: Session, targets: list[Target], now: datetime, settings: Settings
) -> list[TargetResult]:
    plan = make_plan(settings.blocklists)
    if plan is None:
        session.commit()
        return []
    interval = timedelta(minutes=settings.blocklists.recheck_minutes)
    reuse = recent_listings(session, [t.name for t in targets], now, interval)
    session.commit()
    # The zones' rates hold for all workers together (monitor.blocklist_pace).
    plan = replace(plan, reuse=reuse, pace=shared_pace(session.get_bind().engine))
    found = check_blocklists(targets, plan, settings.dns)
    return [
        TargetResult(target.name, target.kind, {"blocklists": found[target.name]})
        for target in targets
        if target.name in found
    ]


def _check_transport(
    session: Session, targets: list[Target], now: datetime, settings: Settings
) -> list[TargetResult]:
    domains = [target for target in targets if target.kind == "domain"]
    plan = transport_plan(settings, now, session, [target.name for target in domains])
    session.commit()
    if plan is None or not domains:
        return []
    results = check_targets(domains, settings.dns, concurrency=settings.concurrency, transport=plan)
    return [
        TargetResult(r.target, r.kind, {n: c for n, c in r.checks.items() if n in TRANSPORT_CHECKS})
        for r in results
    ]


# Sweep kinds (the scheduled jobs' names): how a chunk is checked.
CHUNK_CHECKS: dict[str, ChunkCheck] = {
    "auth_sweep": _check_authentication,
    "blocklist_sweep": _check_blocklists,
    "transport_sweep": _check_transport,
}


def plan_sweep(kind: str, session: Session, now: datetime, settings: Settings, defer: Defer) -> str:
    """Split the active targets into chunks and defer one job per chunk (in ``session``)."""
    if kind == "blocklist_sweep" and make_plan(settings.blocklists) is None:
        return "blocklists are disabled"
    if kind == "transport_sweep" and transport_plan(settings, now) is None:
        return "transport checks are disabled"
    kinds = ("domain",) if kind == "transport_sweep" else ("domain", "ip")
    chunks = [
        [(t.name, t.kind) for t in page]
        for page in active_target_pages(session, settings.schedule.chunk_size, kinds)
    ]
    if not chunks:
        return "no targets" if kind != "transport_sweep" else "no domains"
    run = start_run(session, started_at=now, trigger=kind)
    sweep = Sweep(kind=kind, run_id=run.id, planned_at=now, chunks=len(chunks), chunks_done=0)
    session.add(sweep)
    session.flush()
    session.add_all(
        SweepChunk(sweep_id=sweep.id, chunk=index, targets=[list(t) for t in chunk])
        for index, chunk in enumerate(chunks)
    )
    session.flush()
    defer(session, sweep.id, range(len(chunks)))
    targets = sum(len(chunk) for chunk in chunks)
    return f"sweep {sweep.id}: {targets} targets in {len(chunks)} chunks deferred"


def run_chunk(
    session: Session,
    sweep_id: int,
    chunk: int,
    settings: Settings,
    *,
    worker: str,
    clock: Callable[[], datetime],
) -> str:
    """Check and record chunk ``chunk`` of sweep ``sweep_id``, unless it is recorded already.

    Commits its own transactions; returns what it did, in one line.
    """
    planned = session.get(SweepChunk, (sweep_id, chunk))
    sweep = session.get(Sweep, sweep_id)
    if planned is None or sweep is None:
        session.commit()
        return f"sweep {sweep_id} chunk {chunk} is gone (purged)"
    if planned.done_at is not None:
        session.commit()
        return f"sweep {sweep_id} chunk {chunk} was recorded by {planned.worker}"
    wanted = {(name, kind) for name, kind in planned.targets}
    kind, run_id = sweep.kind, sweep.run_id
    monitored = [
        t
        for t in list_targets_named(session, sorted({name for name, _ in wanted}))
        if (t.name, t.kind) in wanted and not t.paused
    ]
    results = CHUNK_CHECKS[kind](session, [t.as_target() for t in monitored], clock(), settings)
    now = clock()
    return _record_chunk(
        session, sweep_id, chunk, run_id, results, monitored, now, settings, worker
    )


def lock_run(session: Session, run_id: int) -> CheckRun:
    """The sweep's run row, locked to add a chunk's totals to it (fresh from the database).

    ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: every chunk's results reference the run, and
    PostgreSQL's foreign-key checks hold a key-share lock on it until commit. ``FOR UPDATE``
    waits for those, so two workers recording chunks at once deadlocked, and procrastinate
    ran one of the chunks again from its DNS lookups (a two-worker sweep asked unbound half
    as much again); a no-key lock does not conflict with key-share locks.
    """
    return session.scalars(
        select(CheckRun)
        .where(CheckRun.id == run_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one()


def _record_chunk(
    session: Session,
    sweep_id: int,
    chunk: int,
    run_id: int,
    results: Sequence[TargetResult],
    monitored: Sequence[MonitoredTarget],
    now: datetime,
    settings: Settings,
    worker: str,
) -> str:
    """One transaction: the chunk's results, alerts and outbox rows, and the chunk marked done."""
    planned = session.scalars(
        select(SweepChunk)
        .where(SweepChunk.sweep_id == sweep_id, SweepChunk.chunk == chunk)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if planned is None or planned.done_at is not None:
        session.rollback()
        return f"sweep {sweep_id} chunk {chunk}: another worker recorded it first"
    run = session.get_one(CheckRun, run_id)
    record_results(session, run, results, now)
    events = update_alerts(
        session,
        results,
        now,
        policy_of(settings),
        channels=channel_names(settings),
        dashboard_url=settings.alerts.dashboard_url,
        alert_on_warn={target.name: target.alert_on_warn for target in monitored},
    )
    planned.done_at, planned.worker = now, worker
    session.flush()
    # The run's totals last, so its row is locked only for the commit.
    run = lock_run(session, run_id)
    run.status = worst([run.status, *(result.status for result in results)])
    run.target_count += len(results)
    run.finished_at = max(run.finished_at, now)
    done = session.execute(
        update(Sweep)
        .where(Sweep.id == sweep_id)
        .values(chunks_done=Sweep.chunks_done + 1)
        .returning(Sweep.chunks_done, Sweep.chunks)
    ).one()
    if done.chunks_done == done.chunks:
        session.execute(update(Sweep).where(Sweep.id == sweep_id).values(finished_at=now))
    session.commit()
    return (
        f"sweep {sweep_id} chunk {chunk}: {len(results)} targets checked, "
        f"{len(events)} alert transitions"
    )
