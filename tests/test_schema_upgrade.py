"""Opening a database: a current schema is left alone without Alembic, any other upgraded."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from store.engine import alembic_config, head_revision, upgrade_database


def _version(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def test_the_head_read_from_the_files_is_alembics(engine: Engine) -> None:
    script = ScriptDirectory.from_config(alembic_config(engine))
    assert head_revision() == script.get_current_head()


def test_a_database_one_migration_behind_is_upgraded(engine: Engine) -> None:
    head = head_revision()
    assert head is not None
    script = ScriptDirectory.from_config(alembic_config(engine))
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    command.upgrade(alembic_config(engine), previous)
    assert _version(engine) == [previous]
    upgrade_database(engine)
    assert _version(engine) == [head]


def test_an_empty_database_gets_the_whole_schema(engine: Engine) -> None:
    upgrade_database(engine)
    upgrade_database(engine)  # at head: nothing to do
    assert _version(engine) == [head_revision()]
    assert "alerts" in inspect(engine).get_table_names()
