"""message audits

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_audits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sender", sa.String(length=320), nullable=True),
        sa.Column("campaign", sa.String(length=255), nullable=True),
        sa.Column("subject", sa.String(length=998), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("message_audits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_audits_audited_at"), ["audited_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("message_audits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_audits_audited_at"))

    op.drop_table("message_audits")
