"""Engines, sessions and schema migration.

SQLite gets WAL (readers do not block the writer) and enforced foreign keys
on every connection. The schema is only ever created by Alembic, so SQLite
and PostgreSQL databases are built by the same migrations.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from store.errors import DatabaseError

MIGRATIONS = Path(__file__).parent / "migrations"
logger = logging.getLogger(__name__)


def display_url(url: str) -> str:
    """``url`` with its password masked, fit for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite connections get WAL and foreign keys."""
    try:
        # A server restart leaves pooled connections dead: each is tested before use.
        engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    except (ArgumentError, NoSuchModuleError) as error:
        raise DatabaseError(f"{display_url(url)}: {error}") from None
    if engine.dialect.name == "sqlite":
        _create_private(engine.url.database)
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _create_private(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only (0600), before SQLite does.

    It holds the cookie-signing key and personal data; SQLite gives its journal
    and WAL files the database's mode, so they are private too.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return  # an existing database keeps the mode its owner gave it
    except OSError as error:
        # A missing directory or no permission: SQLite will say so when it connects.
        logger.debug("cannot create %s ahead of SQLite: %s", database, error)


def open_database(url: str) -> Engine:
    """An engine on an up-to-date schema, or :class:`DatabaseError` saying why not."""
    engine = make_engine(url)
    try:
        upgrade_database(engine)
    except OperationalError as error:
        engine.dispose()
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise DatabaseError(f"{display_url(url)}: {reason}") from None
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to ``engine`` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade_database(engine: Engine) -> None:
    """Bring the schema to the newest migration (creating it if empty).

    Concurrent callers are serialised (PostgreSQL: an advisory lock in the
    migration's transaction; SQLite: a lock file beside the database).
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        command.upgrade(alembic_config(engine), "head")
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate.lock")
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            command.upgrade(alembic_config(engine), "head")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
