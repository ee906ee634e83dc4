"""distributed sweeps: sweeps and their chunks, the blocklists' shared pace, one result
per run, target and check, and (PostgreSQL) the task engine's own schema

A sweep chunk recorded twice must store nothing twice: the history index on
``check_results`` becomes unique (same columns, so no second index). On
PostgreSQL, procrastinate's schema (its jobs, workers and events tables) is
applied here, exactly as ``procrastinate schema --apply`` would, so that the
leader can defer jobs in its own transaction before any worker has started.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweeps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey("check_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("chunks_done", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sweeps_planned_at", "sweeps", ["planned_at"])
    op.create_table(
        "sweep_chunks",
        sa.Column(
            "sweep_id",
            sa.Integer(),
            sa.ForeignKey("sweeps.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("chunk", sa.Integer(), primary_key=True),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(100), nullable=True),
    )
    op.create_table(
        "blocklist_pace",
        sa.Column("zone", sa.String(253), primary_key=True),
        sa.Column("next_slot", sa.Float(), nullable=False),
    )
    with op.batch_alter_table("check_results") as table:
        table.drop_index("ix_check_results_target_check")
        table.create_index(
            "ix_check_results_target_check", ["target", "check", "run_id"], unique=True
        )
    if op.get_bind().dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # Procrastinate's schema is many statements with $$-quoted functions;
        # sent as it is (no parameters, so no placeholder is parsed in it).
        raw = op.get_bind().connection.driver_connection
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(SchemaManager.get_schema())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            DO $$
            DECLARE item record;
            BEGIN
              FOR item IN SELECT tablename FROM pg_tables
                          WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%'
              LOOP EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename); END LOOP;
              FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                          JOIN pg_namespace n ON n.oid = p.pronamespace
                          WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'
              LOOP EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', item.signature); END LOOP;
              FOR item IN SELECT t.typname FROM pg_type t
                          JOIN pg_namespace n ON n.oid = t.typnamespace
                          WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%'
                            AND t.typtype IN ('e', 'c')
              LOOP EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname); END LOOP;
            END $$;
            """
        )
    with op.batch_alter_table("check_results") as table:
        table.drop_index("ix_check_results_target_check")
        table.create_index(
            "ix_check_results_target_check", ["target", "check", "run_id"], unique=False
        )
    op.drop_table("blocklist_pace")
    op.drop_table("sweep_chunks")
    op.drop_index("ix_sweeps_planned_at", "sweeps")
    op.drop_table("sweeps")
