"""Secret-bearing files are the owner's alone, and a CLI import refuses text a database
cannot store, naming file, line and field, before anything is stored."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from compliance.storable_text import find_unstorable, find_unstorable_cell
from monitor.file_permissions import exposed_files
from monitor.settings import Settings, load_settings
from store.contacts import Contact
from store.engine import open_database, session_factory
from store.events import Event
from tests.conftest import postwarden
from tests.servers import free_port


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets every file be read by everyone, as on many servers."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_init_writes_the_config_and_the_database_for_the_owner_only(
    tmp_path: Path, open_umask: None
) -> None:
    made = postwarden("init", "--yes", cwd=tmp_path)
    assert made.code == 0, made.stderr
    assert mode_of(tmp_path / "postwarden.toml") == 0o600
    assert mode_of(tmp_path / "postwarden.db") == 0o600
    (tmp_path / "postwarden.toml").chmod(0o644)
    forced = postwarden("init", "--yes", "--force", cwd=tmp_path)
    assert forced.code == 0 and mode_of(tmp_path / "postwarden.toml") == 0o600


def test_a_new_sqlite_database_is_private_and_an_existing_one_keeps_its_mode(
    tmp_path: Path, open_umask: None
) -> None:
    fresh = open_database(f"sqlite:///{tmp_path / 'new.db'}")
    with fresh.connect():
        pass
    fresh.dispose()
    assert mode_of(tmp_path / "new.db") == 0o600
    shared = tmp_path / "shared.db"
    shared.touch(mode=0o640)
    open_database(f"sqlite:///{shared}").dispose()
    assert mode_of(shared) == 0o640


def test_files_others_may_read_are_named_with_the_fix(tmp_path: Path) -> None:
    config = tmp_path / "postwarden.toml"
    database = tmp_path / "pw.db"
    config.write_text(f'[database]\nurl = "sqlite:///{database}"\n')
    database.touch()
    config.chmod(0o644)
    database.chmod(0o600)
    settings = load_settings(str(config), environ={})
    assert settings.config_file == str(config)
    assert exposed_files(settings) == [
        f"warning: {config} holds secrets but is readable by others (mode 0644): chmod 600 {config}"
    ]
    config.chmod(0o600)
    assert exposed_files(settings) == []
    assert exposed_files(Settings(database_url="postgresql://db.example/pw")) == []


def test_serve_warns_loudly_of_a_config_file_others_may_read(tmp_path: Path) -> None:
    config = tmp_path / "postwarden.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "pw.db"}"\n')
    config.chmod(0o644)
    script = Path(sys.executable).with_name("postwarden")
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(script), "serve", "--no-scheduler", "--port", str(free_port()), "--config",
             str(config)], stderr=sink, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while "serving on" not in log.read_text():
            assert time.monotonic() < deadline and process.poll() is None, log.read_text()
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert f"{config} holds secrets but is readable by others (mode 0644)" in log.read_text()


NUL_FILES = {
    "contacts.csv": (["import", "contacts"],
                     b"email,status,first_name\nann@example.org,subscribed,Ann\n"
                     b"bob@example.org,subscribed,B\x00b\n",
                     "contacts.csv:3: field first_name contains a NUL character"),
    "events.csv": (["import", "events", "--source", "csv"],
                   b"event_id,type,bounce_type,recipient,time,campaign,message_id\n"
                   b"e1,sent,,ann@example.org,2026-11-01T00:00:00Z,autumn,m1\n"
                   b"e2,sent,,bob@example.org,2026-11-01T00:00:00Z,aut\x00umn,m2\n",
                   "events.csv:3: field campaign contains a NUL character"),
    "events.jsonl": (["import", "events", "--source", "postmark"],
                     b'{"RecordType":"Delivery","MessageID":"m1","Recipient":"ann@example.org",'
                     b'"DeliveredAt":"2026-11-24T10:00:00Z"}\n'
                     b'{"RecordType":"Delivery","MessageID":"m2","Recipient":"b\\u0000b@x.org",'
                     b'"DeliveredAt":"2026-11-24T10:00:00Z"}\n',
                     "events.jsonl:2: field Recipient contains a NUL character"),
    "surrogate.jsonl": (["import", "events", "--source", "postmark"],
                        b'{"RecordType":"Delivery","MessageID":"m1","Recipient":"a\\ud800@x.org",'
                        b'"DeliveredAt":"2026-11-24T10:00:00Z"}\n',
                        "surrogate.jsonl:1: field Recipient contains a lone UTF-16 surrogate"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(NUL_FILES))
def test_a_cli_import_with_a_nul_is_refused_at_parse_time(
    tmp_path: Path, database_url: str, name: str
) -> None:
    command, data, message = NUL_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    refused = postwarden(*command, str(path), "--db", database_url)
    assert refused.code == 3
    assert refused.stderr == f"postwarden: error: {message}\n"  # one line, no personal data
    engine = open_database(database_url)
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0
        assert session.scalar(select(func.count()).select_from(Event)) == 0
    engine.dispose()


def test_text_a_database_cannot_store_is_found_by_field() -> None:
    header = ["email", "name"]
    assert find_unstorable_cell(["ann@example.org", "Ann"], header) is None
    assert find_unstorable_cell(["ann@example.org", "Zoë"], header) is None
    assert (
        find_unstorable_cell(["a@x.org", "Zo\x00ë"], header)
        == "field name contains a NUL character"
    )
    assert find_unstorable_cell(["a@x.org", "b", "\ud800"], header) == (
        "field column 3 contains a lone UTF-16 surrogate"
    )
    assert find_unstorable({"a": [{"b": "ok"}, {"c": "x\x00"}]}) == (
        "field a[1].c contains a NUL character"
    )
    assert find_unstorable({"k\x00": 1}) == "a field name contains a NUL character"
    assert find_unstorable({"a": ["fine", 1, None, True]}) is None
