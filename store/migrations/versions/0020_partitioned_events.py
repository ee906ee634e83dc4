"""events partitioned by month on PostgreSQL

So that the history purge drops a month of events instead of deleting its
rows one by one, ``events`` becomes a table partitioned by range on ``time``,
one partition per UTC month (store/partitions.py). The rows are copied into
the new table, partitions made for every month they cover; the keys are
added after the copy (one index build each, not a billion inserts into
them). A partitioned table's keys must include the partition key, so the
primary key becomes (id, time) and the deduplicating key (source, event_id,
time); store/partitions.py says why that still refuses every duplicate, and
why the partitioned table has no foreign key to ``event_imports``.

SQLite is left as it is. Downgrading copies the rows back into a plain table
(keeping, of events that share a source and id, the first).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 17:30:00
"""

from __future__ import annotations

from datetime import date

from alembic import op
from sqlalchemy import text

from store.partitions import month_bounds, partition_name

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

EXITS = "type IN ('bounce', 'complaint', 'unsubscribe')"


def _keys(table: str, primary: str, unique: str | None) -> None:
    """The keys and the exit index of ``events`` (renamed from ``table``); ``unique`` None:
    the table has its unique key already, as ``uq_{table}_source_event_id``."""
    op.execute(f"ALTER TABLE {table} RENAME TO events")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY events.id")
    op.execute(f"ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY ({primary})")
    if unique is None:
        op.execute(
            f"ALTER TABLE events RENAME CONSTRAINT uq_{table}_source_event_id "
            "TO uq_events_source_event_id"
        )
    else:
        op.execute(f"ALTER TABLE events ADD CONSTRAINT uq_events_source_event_id UNIQUE ({unique})")
    op.execute(f"CREATE INDEX ix_events_exits ON events (recipient, type, time) WHERE {EXITS}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The sequence outlives the old table: new events go on numbering after the old.
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY NONE")
    op.execute(
        "CREATE TABLE events_by_month (LIKE events INCLUDING DEFAULTS) PARTITION BY RANGE (time)"
    )
    months = op.get_bind().execute(
        text("SELECT DISTINCT date_trunc('month', time AT TIME ZONE 'UTC')::date FROM events")
    )
    for (month,) in months.all():
        _add_partition(month)
    op.execute("INSERT INTO events_by_month SELECT * FROM events")
    op.execute("DROP TABLE events")
    _keys("events_by_month", "id, time", "source, event_id, time")


def _add_partition(month: date) -> None:
    low, high = month_bounds(month)
    op.execute(
        f"CREATE TABLE {partition_name(month)} PARTITION OF events_by_month "
        f"FOR VALUES FROM ('{low}') TO ('{high}')"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY NONE")
    op.execute("CREATE TABLE events_plain (LIKE events INCLUDING DEFAULTS)")
    # The plain table's key has no time: the unique index first, so that of events
    # that share a source and an id only the first is copied.
    op.execute(
        "ALTER TABLE events_plain ADD CONSTRAINT uq_events_plain_source_event_id "
        "UNIQUE (source, event_id)"
    )
    op.execute(
        "INSERT INTO events_plain SELECT * FROM events ORDER BY id "
        "ON CONFLICT (source, event_id) DO NOTHING"
    )
    op.execute("DROP TABLE events")
    _keys("events_plain", "id", None)
    op.execute(
        "ALTER TABLE events ADD CONSTRAINT events_import_id_fkey "
        "FOREIGN KEY (import_id) REFERENCES event_imports (id)"
    )
