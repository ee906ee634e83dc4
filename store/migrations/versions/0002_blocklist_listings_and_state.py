"""blocklist listings (episodes) and the latest state per target and zone

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blocklist_listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=253), nullable=False),
        sa.Column("zone", sa.String(length=253), nullable=False),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delisted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_blocklist_listings_open",
        "blocklist_listings",
        ["target", "zone", "delisted_at"],
        unique=False,
    )
    op.create_table(
        "blocklist_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=253), nullable=False),
        sa.Column("zone", sa.String(length=253), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=True),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("meanings", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("impact", sa.String(length=8), nullable=False),
        sa.Column("delist_url", sa.String(length=500), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("target", "zone"),
    )


def downgrade() -> None:
    op.drop_table("blocklist_state")
    op.drop_index("ix_blocklist_listings_open", table_name="blocklist_listings")
    op.drop_table("blocklist_listings")
