"""Engines, sessions and schema migration.

SQLite gets WAL (readers do not block the writer) and enforced foreign keys
on every connection. The schema is only ever created by Alembic, so SQLite
and PostgreSQL databases are built by the same migrations.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from store.errors import DatabaseError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# What a migration file says of itself (`revision = "0012"`, `down_revision = "0011"`).
_REVISION = re.compile(r"""^revision(?:\s*:\s*str)?\s*=\s*["']([^"']+)["']\s*$""", re.M)
_DOWN_REVISION = re.compile(
    r"""^down_revision(?:\s*:[^=]*)?\s*=\s*(?:None|["']([^"']+)["'])\s*$""", re.M
)
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
        raise DatabaseError(f"{display_url(url)}: {error}", url=display_url(url)) from None
    if engine.dialect.name == "sqlite":
        _create_private(engine.url.database)
        event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgres_settings)
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
        shown = display_url(url)
        raise DatabaseError(f"{shown}: {reason}", url=shown) from None
    return engine


def _postgres_settings(dbapi_connection: Any, _record: Any) -> None:
    # No JIT compilation: it cost the list audit 1.5-3.3 s of CPU per run, more than the
    # query itself, and more still over the monthly partitions of the events, whose
    # every partition's expressions it compiles (bench/README.md, bench/partitions.py).
    cursor = dbapi_connection.cursor()
    cursor.execute("SET jit = off")
    cursor.close()
    dbapi_connection.commit()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to ``engine`` (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade_database(engine: Engine) -> None:
    """Bring the schema to the newest migration (creating it if empty).

    Concurrent callers are serialised (PostgreSQL: an advisory lock in the
    migration's transaction; SQLite: a lock file beside the database). A database
    already at the newest migration is left alone without importing Alembic, which
    costs every command a third of a second.
    """
    if _at_head(engine):
        return
    # Imported here: most commands find the schema current (above).
    from alembic import command

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


def head_revision() -> str | None:
    """The newest migration's revision, read from the files' text (no Alembic).

    None unless every file names its revision and one parent, and exactly one
    revision is nobody's parent: then the caller lets Alembic decide.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        if path.name == "__init__.py":
            continue
        source = path.read_text(encoding="utf-8")
        found, down = _REVISION.findall(source), _DOWN_REVISION.findall(source)
        if len(found) != 1 or len(down) != 1:
            return None
        revisions.add(found[0])
        if down[0]:
            parents.add(down[0])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_head(engine: Engine) -> bool:
    """Whether the database's schema is at :func:`head_revision` (False when unsure)."""
    head = head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version"))
            current = list(versions.scalars())
    except DBAPIError:
        # No schema yet, or no database: the upgrade creates it or says why not.
        return False
    return current == [head]
