"""conversions, touchpoints on other channels and campaign costs (what the mail earns)

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-07 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "conversions",
        sa.Column("id", _ROW_ID, nullable=False),
        sa.Column("conversion_id", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversion_id", name="uq_conversions_conversion_id"),
    )
    op.create_index("ix_conversions_email", "conversions", ["email"])
    op.create_table(
        "touchpoints",
        sa.Column("id", _ROW_ID, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("campaign", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email", "time", "channel", "campaign", name="uq_touchpoints"),
    )
    op.create_table(
        "campaign_costs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign", sa.String(length=255), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign", "month", "item", "currency", name="uq_campaign_costs"),
    )


def downgrade() -> None:
    op.drop_table("campaign_costs")
    op.drop_table("touchpoints")
    op.drop_index("ix_conversions_email", table_name="conversions")
    op.drop_table("conversions")
