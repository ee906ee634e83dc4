"""Alembic environment: runs migrations on the engine the caller passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, text

from store.schema import metadata

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through store.engine.upgrade_database()")

# Any constant works; it only has to differ from the scheduler's lock key.
MIGRATION_LOCK_KEY = 0x706F7374_6D696772  # "postmigr"

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        # Processes starting together (several workers, serve) would each
        # create the schema; the second waits here, then finds it at head.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
