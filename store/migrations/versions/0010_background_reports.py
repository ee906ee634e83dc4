"""background and scheduled reports

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("report_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="done", nullable=False)
        )
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("schedule_key", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_report_runs_schedule_key"), ["schedule_key"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("report_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_runs_schedule_key"))
        batch_op.drop_column("schedule_key")
        batch_op.drop_column("error")
        batch_op.drop_column("finished_at")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("status")
