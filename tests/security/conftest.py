"""Fixtures of the security suite: a populated database and a live server on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from store.engine import open_database, session_factory
from tests.dashboard_data import populate
from tests.security.live import LiveServer, serving


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Engine, dict[str, str]]]:
    """A SQLite database with a user and an API token of each role (tests.dashboard_data)."""
    engine = open_database(f"sqlite:///{tmp_path / 'pw.db'}")
    tokens = populate(session_factory(engine))
    yield engine, tokens
    engine.dispose()


@pytest.fixture
def server(world: tuple[Engine, dict[str, str]]) -> Iterator[LiveServer]:
    """The app served on loopback over that database, with default settings."""
    with serving(world[0]) as live:
        yield live
