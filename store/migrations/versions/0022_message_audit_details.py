"""each audited message's findings per check, with their messages and fixes

The Messages page links every message to what is missing and how to fix it;
until now only the check statuses and the codes of the message-wide findings
were kept. Older rows stay without details (the page then shows each code's
catalogued title and fix).

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-07 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message_audits") as table:
        table.add_column(sa.Column("details", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message_audits") as table:
        table.drop_column("details")
