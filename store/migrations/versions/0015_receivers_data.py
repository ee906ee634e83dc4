"""the receivers' own data: Gmail Postmaster Tools, Microsoft SNDS, an encrypted credential

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "receiver_credentials",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("connected_at", _TIME, nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "gmail_domains",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("verified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("checked_at", _TIME, nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("compliance", sa.JSON(), nullable=False),
        sa.Column("compliance_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("domain"),
    )
    op.create_table(
        "gmail_days",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("spam_rate", sa.Float(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("fetched_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("domain", "day"),
    )
    op.create_table(
        "snds_days",
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("activity_start", _TIME, nullable=True),
        sa.Column("activity_end", _TIME, nullable=True),
        sa.Column("rcpt_commands", sa.Integer(), nullable=False),
        sa.Column("data_commands", sa.Integer(), nullable=False),
        sa.Column("message_recipients", sa.Integer(), nullable=False),
        sa.Column("filter_result", sa.String(length=8), nullable=False),
        sa.Column("complaint_rate", sa.Float(), nullable=True),
        sa.Column("complaint_text", sa.String(length=16), nullable=False),
        sa.Column("trap_hits", sa.Integer(), nullable=False),
        sa.Column("sample_helo", sa.Text(), nullable=True),
        sa.Column("sample_mail_from", sa.Text(), nullable=True),
        sa.Column("comments", sa.Text(), nullable=True),
        sa.Column("fetched_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("ip", "day"),
    )
    op.create_table(
        "snds_blocks",
        sa.Column("first_ip", sa.String(length=45), nullable=False),
        sa.Column("last_ip", sa.String(length=45), nullable=False),
        sa.Column("blocked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("fetched_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("first_ip", "last_ip"),
    )


def downgrade() -> None:
    for table in (
        "snds_blocks",
        "snds_days",
        "gmail_days",
        "gmail_domains",
        "receiver_credentials",
    ):
        op.drop_table(table)
