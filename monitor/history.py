"""Persist check runs: every result (history) and the latest status per check."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from checks.findings import Status, worst
from checks.results import BlocklistResult, TargetResult, to_json
from monitor.blocklist_history import record_listings
from store.models import CheckRecord, CheckRun, StatusChange, TargetStatus


def record_run(
    session: Session,
    results: Sequence[TargetResult],
    *,
    started_at: datetime,
    finished_at: datetime,
    trigger: str = "cli",
) -> CheckRun:
    """Store one run's results and move each check's latest status forward.

    ``since`` keeps the time a status was first seen, so "failing since" is
    the first failing run, not the latest one.
    """
    run = start_run(session, started_at=started_at, trigger=trigger)
    record_results(session, run, results, finished_at)
    finish_run(run, finished_at, [result.status for result in results])
    session.flush()
    return run


def record_run_in_batches(
    session: Session,
    batches: Iterable[Sequence[TargetResult]],
    *,
    started_at: datetime,
    finished_at: datetime,
    trigger: str = "cli",
    each_batch: Callable[[Sequence[TargetResult]], object] = lambda batch: None,
) -> CheckRun:
    """:func:`record_run` over results that come a batch at a time.

    Each batch is written and flushed out of the session before the next is
    taken, so neither this nor ``batches`` need hold more than one batch;
    ``each_batch`` runs on a batch once it is recorded (the sweeps' alerts).
    """
    run = start_run(session, started_at=started_at, trigger=trigger)
    statuses: list[Status] = []
    for results in batches:
        record_results(session, run, results, finished_at)
        each_batch(results)
        statuses.extend(result.status for result in results)
        # Written out, the batch's rows leave the session's memory.
        session.flush()
    finish_run(run, finished_at, statuses)
    session.flush()
    return run


def start_run(session: Session, *, started_at: datetime, trigger: str) -> CheckRun:
    """A run to record results into batch by batch (:func:`record_results`)."""
    run = CheckRun(
        started_at=started_at,
        finished_at=started_at,
        trigger=trigger,
        status="pass",
        target_count=0,
    )
    session.add(run)
    session.flush()
    return run


def finish_run(run: CheckRun, finished_at: datetime, statuses: Sequence[Status]) -> None:
    """Close ``run`` over the statuses of every target it recorded."""
    run.finished_at = finished_at
    run.status = worst(statuses)
    run.target_count = len(statuses)


def record_results(
    session: Session, run: CheckRun, results: Sequence[TargetResult], finished_at: datetime
) -> None:
    """Store one batch of ``run``'s results, and flush them out of the session's memory."""
    latest = {
        (row.target, row.check): row
        for row in session.scalars(
            select(TargetStatus).where(TargetStatus.target.in_([r.target for r in results]))
        )
    }
    for result in results:
        checks = to_json(result)["checks"]
        for name, detail in checks.items():
            status = detail["status"]
            session.add(
                CheckRecord(
                    run_id=run.id,
                    target=result.target,
                    kind=result.kind,
                    check=name,
                    status=status,
                    detail=detail,
                )
            )
            row = latest.get((result.target, name))
            if row is None or row.status != status:
                session.add(
                    StatusChange(
                        target=result.target,
                        check=name,
                        status=status,
                        previous=None if row is None else row.status,
                        at=finished_at,
                        run_id=run.id,
                    )
                )
            if row is None:
                row = TargetStatus(
                    target=result.target,
                    kind=result.kind,
                    check=name,
                    status=status,
                    since=finished_at,
                )
                session.add(row)
            elif row.status != status:
                row.status, row.since, row.consecutive = status, finished_at, 1
            else:
                row.consecutive += 1
            row.checked_at = finished_at
            row.last_run_id = run.id
    listed = {
        result.target: check
        for result in results
        if isinstance(check := result.checks.get("blocklists"), BlocklistResult)
    }
    record_listings(session, listed, finished_at)
    session.flush()
