"""status changes (the history timeline), backfilled from the stored runs

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=253), nullable=False),
        sa.Column("check", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("previous", sa.String(length=8), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["check_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("status_changes", schema=None) as batch_op:
        batch_op.create_index("ix_status_changes_target_at", ["target", "at"], unique=False)
    # The history already stored: every first result and every change, in one statement.
    op.execute(
        """
        INSERT INTO status_changes (target, "check", status, previous, at, run_id)
        SELECT target, "check", status, previous, finished_at, run_id FROM (
            SELECT r.target, r."check", r.status, r.run_id, run.finished_at,
                   LAG(r.status) OVER (PARTITION BY r.target, r."check" ORDER BY r.run_id)
                       AS previous
            FROM check_results r JOIN check_runs run ON run.id = r.run_id
        ) AS ordered
        WHERE previous IS NULL OR previous <> status
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("status_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_status_changes_target_at")

    op.drop_table("status_changes")
