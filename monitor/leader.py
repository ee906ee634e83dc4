"""Exactly one scheduler per database.

With PostgreSQL, the leader holds a session-level advisory lock on a
connection it keeps open; the others stand by and try again every few
seconds, and take over when the leader dies (its session ends, the lock goes
with it). SQLite has no such lock and no standbys: a file lock beside the
database makes a second scheduler refuse to start with a clear message.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, PendingRollbackError

from checks.errors import Conflict

logger = logging.getLogger(__name__)

# pg_advisory_lock takes a bigint; any constant unlikely to clash will do.
LOCK_KEY = 0x706F737477617264  # "postward"


class SchedulerConflict(Conflict):
    """Another scheduler already runs this database's schedule (SQLite)."""


class Leadership(Protocol):
    """A claim to run the schedule."""

    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


class PostgresLeadership:
    """An advisory lock held by an open session."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None
        # The heartbeat and the job threads share the one connection.
        self._guard = threading.Lock()

    def try_acquire(self) -> bool:
        """Take the lock if it is free; False while another holds it or the database is down."""
        try:
            connection = self.engine.connect()
        except DBAPIError as error:
            logger.warning("the scheduler lock cannot be asked for: %s", error.orig)
            return False
        try:
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
            ).scalar()
            # The lock belongs to the session, not the transaction: end the
            # transaction so the connection is not left idle in one.
            connection.commit()
        except DBAPIError as error:
            logger.warning("the scheduler lock cannot be asked for: %s", error.orig)
            connection.invalidate()
            return False
        if got:
            self._connection = connection
            return True
        connection.close()
        return False

    def still_held(self) -> bool:
        with self._guard:
            if self._connection is None:
                return False
            try:
                self._connection.execute(text("SELECT 1"))
                self._connection.commit()
            except (DBAPIError, PendingRollbackError):
                # The session is gone, and its lock with it (a database restart,
                # a dropped connection): a standby may lead already.
                self._connection.invalidate()
                self._connection = None
                return False
            return True

    def release(self) -> None:
        with self._guard:
            self._release()

    def _release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            self._connection.commit()
            self._connection.close()
        except (DBAPIError, PendingRollbackError):
            self._connection.invalidate()  # the lock went with the session
        self._connection = None


class FileLeadership:
    """An exclusive lock on ``<database file>.scheduler.lock``; the OS drops it with the process."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".scheduler.lock")
        self._file: IO[str] | None = None

    def try_acquire(self) -> bool:
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise SchedulerConflict(
                f"another scheduler (pid {holder}) already runs the schedule of "
                f"{self.database}; with SQLite only one may run "
                "(stop it, or use PostgreSQL to run standbys)"
            ) from None
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return True

    def still_held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def leadership_for(engine: Engine) -> Leadership:
    """The leader election that fits the database."""
    if engine.dialect.name == "postgresql":
        return PostgresLeadership(engine)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            raise SchedulerConflict("the scheduler needs a database file, not an in-memory one")
        return FileLeadership(Path(database).resolve())
    raise SchedulerConflict(f"no leader election for {engine.dialect.name} databases")
