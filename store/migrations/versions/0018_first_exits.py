"""the first exit of each kind per recipient, and a partial index of exit events

"Mailed after …" counts any mailing after the first exit that still binds, so
the per-recipient rollup keeps the first unsubscribe, hard bounce and
complaint beside the latest. Existing rows are filled from the stored events
here, in one pass over the exits.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

EXITS = "type IN ('bounce', 'complaint', 'unsubscribe')"
FIRST = {
    "first_unsubscribe": "type = 'unsubscribe'",
    "first_hard_bounce": "type = 'bounce' AND bounce_type = 'hard'",
    "first_complaint": "type = 'complaint'",
}


def upgrade() -> None:
    with op.batch_alter_table("recipient_activity") as table:
        for name in FIRST:
            table.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_events_exits",
        "events",
        ["recipient", "type", "time"],
        sqlite_where=sa.text(EXITS),
        postgresql_where=sa.text(EXITS),
    )
    # Only rows that exist are filled: an erased address has none (its events now name
    # an opaque token), and none is created for it.
    minima = ", ".join(
        f"min(CASE WHEN {when} THEN time END) AS {name}" for name, when in FIRST.items()
    )
    assignments = ", ".join(f"{name} = firsts.{name}" for name in FIRST)
    op.execute(
        f"UPDATE recipient_activity SET {assignments} "
        f"FROM (SELECT recipient, {minima} FROM events WHERE {EXITS} GROUP BY recipient) AS firsts "
        "WHERE firsts.recipient = recipient_activity.address"
    )


def downgrade() -> None:
    op.drop_index("ix_events_exits", table_name="events")
    with op.batch_alter_table("recipient_activity") as table:
        for name in FIRST:
            table.drop_column(name)
