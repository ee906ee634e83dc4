"""Monthly partitions of the events table on PostgreSQL: which exist, adding and dropping them.

On PostgreSQL (from migration 0020) ``events`` is partitioned by range on
``time``, one partition per UTC month named ``events_YYYY_MM``. There is no
DEFAULT partition: an import adds the partitions its events need before it
inserts them (:class:`MonthPartitions`), so every row lands in its month and a
purge drops whole months. A DEFAULT partition would make a later month's
partition impossible to add without moving its rows out of it first, and
adding one beside a DEFAULT scans and locks that DEFAULT against every reader.

SQLite, and a PostgreSQL ``events`` table that is not partitioned, are left
alone by everything here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import Connection, delete, text

from store.events import Event

PARENT = "events"
# A partition's name says its month; other children of ``events`` are left alone.
_NAME = re.compile(r"^events_(\d{4})_(\d{2})$")

# The key columns on a partitioned table must include the partition key: the
# primary key becomes (id, time) and the deduplicating key (source, event_id, time).
# Every source's event id either is the ESP's id of that one event (delivered again
# with the same time) or is derived from fields that include the time; the ARF
# importer, whose id names only the message and recipient, refuses its repeats itself.
#
# The partitioned table has no foreign key from ``import_id`` to ``event_imports``:
# attaching a partition would copy it, which locks ``event_imports`` against the
# import rows that every other running import has already written, while those
# imports wait for this one's lock on ``events`` to add their own months — a
# deadlock as soon as two imports meet a new month together. ``import_id`` is only
# ever written by the importer, with the id of the import row it has just added,
# and import rows are never deleted.
PRIMARY_KEY = ("id", "time")
UNIQUE_KEY = ("source", "event_id", "time")


def partition_name(month: date) -> str:
    """The name of ``month``'s partition: ``events_2026_11``."""
    return f"{PARENT}_{month.year:04d}_{month.month:02d}"


def is_partition_name(name: str) -> bool:
    """Whether ``name`` is the name of a monthly partition of the events."""
    return _NAME.match(name) is not None


def month_of(moment: datetime) -> date:
    """The first day of the UTC month of ``moment``."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment
    return date(utc.year, utc.month, 1)


def next_month(month: date) -> date:
    """The first day of the month after ``month``."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_bounds(month: date) -> tuple[str, str]:
    """The partition bounds of ``month``, as UTC timestamp literals."""
    return f"{month.isoformat()} 00:00:00+00", f"{next_month(month).isoformat()} 00:00:00+00"


def is_partitioned(connection: Connection) -> bool:
    """Whether ``events`` is a partitioned table here (PostgreSQL after migration 0020)."""
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.execute(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:name)"), {"name": PARENT}
    ).scalar()
    return kind == "p"


def existing_months(connection: Connection) -> dict[date, str]:
    """The months that have a partition, each with its partition's name."""
    names = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:name)"
        ),
        {"name": PARENT},
    ).scalars()
    months = {}
    for name in names:
        if found := _NAME.match(name):
            months[date(int(found[1]), int(found[2]), 1)] = name
    return months


def add_month_partitions(connection: Connection, months: Iterable[date]) -> list[str]:
    """Add the partitions of ``months`` that are missing; the names of those added.

    Each is created as a table of its own and then attached: ATTACH locks the
    parent only against other schema changes (SHARE UPDATE EXCLUSIVE), where
    ``CREATE TABLE … PARTITION OF`` would lock out every reader of the events until
    the caller's transaction ends. Concurrent callers queue on that lock and find
    the partition there once it is their turn.
    """
    wanted = sorted(set(months))
    if not wanted:
        return []
    connection.execute(text(f"LOCK TABLE {PARENT} IN SHARE UPDATE EXCLUSIVE MODE"))
    present = existing_months(connection)
    added = []
    for month in wanted:
        if month in present:
            continue
        name = partition_name(month)
        low, high = month_bounds(month)
        connection.execute(
            text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        )
        connection.execute(
            text(
                f"ALTER TABLE {PARENT} ATTACH PARTITION {name} "
                f"FOR VALUES FROM ('{low}') TO ('{high}')"
            )
        )
        added.append(name)
    return added


class MonthPartitions:
    """Keeps the monthly partitions ahead of an import's inserts (``active`` False where
    the events are not partitioned: then nothing is to be done).

    Knows which months exist from the first call on, so a batch whose months
    all have partitions costs a set lookup, not a query.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.active = is_partitioned(connection)
        self._known: set[date] = set(existing_months(connection)) if self.active else set()

    def cover(self, months: Iterable[date]) -> None:
        """Make sure each of ``months`` has its partition before rows of it are inserted."""
        if not self.active:
            return
        missing = set(months) - self._known
        if missing:
            add_month_partitions(self._connection, missing)
            self._known |= missing


def drop_months_before(connection: Connection, cutoff: datetime) -> list[str]:
    """Drop the partitions that hold only events before ``cutoff``; their names.

    The month that ``cutoff`` falls in is kept: the caller deletes its rows
    before ``cutoff`` one by one.
    """
    boundary = month_of(cutoff)
    dropped = []
    for month, name in sorted(existing_months(connection).items()):
        if month < boundary:
            connection.execute(text(f"DROP TABLE {name}"))
            dropped.append(name)
    return dropped


def delete_events_before(connection: Connection, cutoff: datetime) -> tuple[list[str], int]:
    """Remove the events before ``cutoff``: the partitions dropped, and the rows deleted.

    Partitioned, whole months go at the cost of dropping a table and only the
    month ``cutoff`` falls in is searched row by row; otherwise every event
    before ``cutoff`` is deleted.
    """
    dropped = drop_months_before(connection, cutoff) if is_partitioned(connection) else []
    # Through the model's column type: SQLite keeps times as text in its own format.
    deleted = connection.execute(delete(Event).where(Event.time < cutoff.astimezone(UTC)))
    return dropped, deleted.rowcount
