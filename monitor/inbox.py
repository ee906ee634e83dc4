"""The webhook inbox: requests accepted at once, imported in batches by the ``ingest`` job.

A webhook request is verified and validated, then appended to
``event_inbox`` by the :class:`InboxWriter`, which commits the requests that
arrive together in one statement (group commit); once that commit is on disk
the request is accepted, and the ESP may forget it. :func:`drain_inbox`
imports what waits through the same
:func:`~compliance.events.importer.import_events` as a file, many requests per
import, and deletes them in that import's transaction: a request is imported
once or, if the transaction fails, stays waiting. Duplicates (an ESP's
retries) are dropped on the ESP's event id at import, as for files.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    TextClause,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from checks.errors import Unavailable
from compliance.events.formats import FORMATS
from compliance.events.importer import import_events
from compliance.events.normalised import DeliveryEvent, Ignored, RecordError
from store.events import InboxRequest

logger = logging.getLogger(__name__)

# Requests imported per transaction: large enough that an import's fixed
# statements are shared by many events, small enough that a backlog of a
# million requests commits as it goes.
DRAIN_BATCH = 2000
# Requests committed together at most: a commit stays short under a burst,
# and there is one prepared INSERT per group size.
GROUP_COMMIT_LIMIT = 64
_COLUMNS = ("source", "received_at", "records", "events")


def parse_records(source: str, records: list[Any]) -> list[DeliveryEvent | Ignored]:
    """Every record of one request in ``source``'s format; RecordError names the bad one."""
    items: list[DeliveryEvent | Ignored] = []
    parse = FORMATS[source].parse
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise RecordError(f"record {number}: expected a JSON object")
        try:
            items.extend(parse(record))
        except RecordError as error:
            raise RecordError(f"record {number}: {error}") from None
    return items


def _row(source: str, records: list[Any], events: int, now: datetime) -> dict[str, Any]:
    return {"source": source, "received_at": now, "records": json.dumps(records), "events": events}


class InboxUnavailable(Unavailable):
    """The inbox could not be written (the database is down): the request was not accepted."""


@lru_cache(maxsize=GROUP_COMMIT_LIMIT)
def _append_rows(count: int) -> TextClause:
    """One INSERT of ``count`` rows, its parameters named ``<column>_<row>``.

    Text with typed parameters, because SQLAlchemy does not cache a multi-row
    ``insert().values()``: it compiled the statement anew for every group.
    """
    table = InboxRequest.__table__
    rows = ", ".join(
        "(" + ", ".join(f":{column}_{row}" for column in _COLUMNS) + ")" for row in range(count)
    )
    statement = text(
        f"INSERT INTO {InboxRequest.__tablename__} ({', '.join(_COLUMNS)}) VALUES {rows}"
    )
    return statement.bindparams(
        *(
            bindparam(f"{column}_{row}", type_=table.c[column].type)
            for row in range(count)
            for column in _COLUMNS
        )
    )


class _Pending:
    """One request waiting for its commit."""

    __slots__ = ("_committed", "error", "row")

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.error: Exception | None = None
        # A lock held until the writer is done: waiting on it is one C call,
        # where a threading.Event goes through a Condition in Python.
        self._committed = threading.Lock()
        self._committed.acquire()

    def wait(self) -> None:
        self._committed.acquire()

    def finish(self, error: Exception | None) -> None:
        self.error = error
        self._committed.release()


class InboxWriter:
    """Appends requests to the inbox from many threads, committing them in groups.

    Each caller waits until its request is committed, so an answered request is
    on disk, as with a commit per request; but the requests that arrive while
    one commit is under way share the next one (group commit). A commit per
    request serialised every web thread on the database's write lock and cost a
    disk flush each; grouped, one flush serves as many requests as came in
    meanwhile.

    The group is one multi-row INSERT in autocommit: atomic, and one call into
    the driver. Every call into the driver gives up the GIL, and under load the
    writer then waits for the web threads to give it back, once per call; a
    transaction of BEGIN, an INSERT per row and COMMIT waited that many times.

    The writer thread starts with the first request and ends, closing its
    connection, after ``idle_seconds`` without one, or when ``close`` is called.
    """

    def __init__(self, engine: Engine, idle_seconds: float = 10.0) -> None:
        self._engine = engine
        self._idle_seconds = idle_seconds
        # None in the queue tells the writer thread to stop (``close``).
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # The writer thread's own connection, kept between groups.
        self._connection: Connection | None = None
        # Committed so far: requests, and the statements that held them.
        self.requests = 0
        self.commits = 0

    def append(self, source: str, records: list[Any], events: int, now: datetime) -> None:
        """Append one validated request; return once it is committed.

        Raises :class:`InboxUnavailable` when the database refused the commit.
        """
        pending = _Pending(_row(source, records, events, now))
        self._queue.put(pending)
        self._ensure_running()
        pending.wait()
        if isinstance(pending.error, SQLAlchemyError):
            raise InboxUnavailable(str(pending.error).splitlines()[0]) from pending.error
        if pending.error is not None:
            raise RuntimeError("the webhook inbox could not be written") from pending.error

    @property
    def engine(self) -> Engine:
        """The database the inbox is in."""
        return self._engine

    def running(self) -> bool:
        """Whether the writer thread is up (it ends when idle)."""
        with self._lock:
            return self._thread is not None

    def queued(self) -> int:
        """Requests waiting for the next group (the one being committed not counted)."""
        return self._queue.qsize()

    def close(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then end the writer thread and close its connection.

        A later ``append`` starts it again.
        """
        with self._lock:
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _ensure_running(self) -> None:
        with self._lock:
            if self._thread is None:
                # A daemon: a request still waiting when the process ends was
                # never answered, so the ESP sends it again.
                self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            group, stop = self._take_group()
            if group:
                error = self._commit(group)
                for pending in group:
                    pending.finish(error)
            if stop and self._retire():
                return

    def _take_group(self) -> tuple[list[_Pending], bool]:
        """What waits, up to GROUP_COMMIT_LIMIT, and whether to stop: told to (None is
        queued by ``close``) or idle for ``idle_seconds``."""
        try:
            first = self._queue.get(timeout=self._idle_seconds)
        except queue.Empty:
            return [], True
        if first is None:
            return [], True
        group = [first]
        while len(group) < GROUP_COMMIT_LIMIT:
            try:
                pending = self._queue.get_nowait()
            except queue.Empty:
                break
            if pending is None:
                return group, True
            group.append(pending)
        return group, False

    def _retire(self) -> bool:
        """End the thread, unless a request came in meanwhile.

        Under the lock that ``_ensure_running`` takes: a request queued meanwhile
        is either seen here, or finds no thread and starts one.
        """
        with self._lock:
            if not self._queue.empty():
                return False
            self._thread = None
            self._discard_connection()
            return True

    def _commit(self, group: list[_Pending]) -> Exception | None:
        statement = _append_rows(len(group))
        values = {
            f"{column}_{row}": pending.row[column]
            for row, pending in enumerate(group)
            for column in _COLUMNS
        }
        for attempt in (1, 2):
            try:
                if self._connection is None:
                    connection = self._engine.connect()
                    self._connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                self._connection.execute(statement, values)
            except Exception as error:  # handed to every caller of the group, which answers it
                self._discard_connection()
                if isinstance(error, DBAPIError) and error.connection_invalidated and attempt == 1:
                    # The kept connection died (a database restart): once more, anew. Had
                    # the lost INSERT been committed after all, its rows are stored twice
                    # and imported once: events are deduplicated on the ESP's id.
                    continue
                if not isinstance(error, SQLAlchemyError):
                    logger.exception("the webhook inbox could not be written")
                return error
            self.requests += len(group)
            self.commits += 1
            return None
        raise AssertionError("unreachable")

    def _discard_connection(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.close()
        except SQLAlchemyError as error:
            logger.warning("closing the webhook inbox's connection: %s", error)
        self._connection = None


def waiting(session: Session) -> tuple[int, int]:
    """Requests and events waiting to be imported (requests kept with an error excluded)."""
    requests, events = session.execute(
        select(func.count(), func.coalesce(func.sum(InboxRequest.events), 0)).where(
            InboxRequest.error.is_(None)
        )
    ).one()
    return int(requests), int(events)


def kept_count(session: Session) -> int:
    """How many requests are kept with an error."""
    return int(session.scalar(select(func.count()).where(InboxRequest.error.is_not(None))) or 0)


def kept_requests(session: Session) -> list[InboxRequest]:
    """The requests kept with an error (a later version could not import them), oldest first."""
    return list(
        session.scalars(
            select(InboxRequest).where(InboxRequest.error.is_not(None)).order_by(InboxRequest.id)
        )
    )


def retry_kept(session: Session, ids: Sequence[int] | None = None) -> int:
    """Clear the error of the kept requests ``ids`` (None: all), so that the next drain
    imports them again (keeping them again, with the new reason, if it still cannot);
    how many. LookupError names an id that is not a kept request."""
    kept = {request.id for request in kept_requests(session)}
    if ids is not None and (missing := sorted(set(ids) - kept)):
        raise LookupError(f"no request kept with an error has id {missing[0]}")
    chosen = kept if ids is None else set(ids)
    if chosen:
        session.execute(update(InboxRequest).where(InboxRequest.id.in_(chosen)).values(error=None))
    return len(chosen)


@dataclass
class DrainReport:
    """What one drain imported."""

    requests: int = 0
    events: int = 0
    inserted: int = 0
    duplicates: int = 0
    kept_with_error: int = 0

    def add(self, other: DrainReport) -> None:
        """Count ``other`` (a committed part of the drain) in."""
        self.requests += other.requests
        self.events += other.events
        self.inserted += other.inserted
        self.duplicates += other.duplicates
        self.kept_with_error += other.kept_with_error

    def __str__(self) -> str:
        text = (
            f"{self.requests} webhook requests: {self.inserted} events imported, "
            f"{self.duplicates} duplicates"
        )
        if self.kept_with_error:
            text += f"; {self.kept_with_error} could not be imported (kept in the inbox)"
        return text


def drain_inbox(session: Session, now: datetime, batch: int = DRAIN_BATCH) -> DrainReport:
    """Import everything waiting, ``batch`` requests per committed transaction.

    A batch whose import fails is imported again one request at a time, and a
    request that still fails is kept with its reason (``postwarden inbox``):
    one bad request never holds up the others.
    """
    report = DrainReport()
    while True:
        rows = _take(session, batch)
        if not rows:
            session.commit()
            return report
        done = DrainReport()
        try:
            imported = _import_batch(session, rows, now, done)
            session.execute(delete(InboxRequest).where(InboxRequest.id.in_(imported)))
            session.commit()
        except Exception as error:  # any failure: retried one by one below
            session.rollback()
            if _database_unavailable(error):
                raise
            logger.warning(
                "a batch of %d webhook requests could not be imported (%s); "
                "importing them one at a time",
                len(rows),
                _reason(error),
            )
            for row in rows:
                _import_alone(session, row.id, now, report)
            continue
        done.requests = len(imported)
        report.add(done)


def _take(session: Session, batch: int, request_id: int | None = None) -> Sequence[Any]:
    """Waiting requests, oldest first, locked (another drain takes other requests)."""
    query = select(InboxRequest.id, InboxRequest.source, InboxRequest.records).where(
        InboxRequest.error.is_(None)
    )
    if request_id is not None:
        query = query.where(InboxRequest.id == request_id)
    return session.execute(
        query.order_by(InboxRequest.id).limit(batch).with_for_update(skip_locked=True)
    ).all()


def _import_alone(session: Session, request_id: int, now: datetime, report: DrainReport) -> None:
    """Import one request in a transaction of its own, or keep it with the reason it failed."""
    done = DrainReport()
    try:
        rows = _take(session, 1, request_id)
        if not rows:
            session.commit()
            return  # imported or kept by another drain meanwhile
        imported = _import_batch(session, rows, now, done)
        session.execute(delete(InboxRequest).where(InboxRequest.id.in_(imported)))
        session.commit()
    except Exception as error:  # kept with its reason, and logged
        session.rollback()
        if _database_unavailable(error):
            raise
        reason = f"import failed: {_reason(error)}"
        logger.error("webhook request %s cannot be imported: %s", request_id, reason)
        session.execute(
            update(InboxRequest).where(InboxRequest.id == request_id).values(error=reason)
        )
        session.commit()
        report.kept_with_error += 1
        return
    done.requests = len(imported)
    report.add(done)


def _database_unavailable(error: Exception) -> bool:
    """Whether ``error`` is the database's (down, restarting), not the request's."""
    return isinstance(error, OperationalError | InterfaceError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def _reason(error: Exception) -> str:
    """The first line of what went wrong, without the SQL or its (personal) parameters."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"


def _import_batch(
    session: Session, rows: Sequence[Any], now: datetime, report: DrainReport
) -> list[int]:
    """Import ``rows``; the ids of those imported (the others are kept with their error)."""
    by_source: dict[str, list[DeliveryEvent | Ignored]] = {}
    imported = []
    for row in rows:
        try:
            items = parse_records(row.source, json.loads(row.records))
        except (RecordError, ValueError) as error:
            # Validated when it was accepted, so only a changed parser gets
            # here: keep it, with the reason, rather than lose or retry it forever.
            logger.error(
                "webhook request %s (%s) cannot be imported: %s", row.id, row.source, error
            )
            session.execute(
                update(InboxRequest)
                .where(InboxRequest.id == row.id)
                .values(error=f"{type(error).__name__}: {error}")
            )
            report.kept_with_error += 1
            continue
        by_source.setdefault(row.source, []).extend(items)
        imported.append(row.id)
    for source, items in by_source.items():
        done = import_events(session, items, source=source, name=f"hook:{source}", now=now)
        report.events += done.events
        report.inserted += done.inserted
        report.duplicates += done.duplicates
    return imported
