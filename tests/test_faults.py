"""Faults: the database restarted under webhook load, the disk filling up mid-import, the
DNS server killed in the middle of a sweep."""

from __future__ import annotations

import os
import resource
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from checks.dns import DnsSettings, parse_nameserver
from checks.zoneserver import ZoneServer
from monitor.jobs import sweep_authentication
from monitor.settings import AlertSettings, BlocklistSettings, Settings
from monitor.targets import add_domain
from store.alerting import Alert
from store.engine import open_database, session_factory, upgrade_database
from store.models import TargetStatus
from tests.conftest import postwarden, zone
from tests.keys import rsa_key, txt
from tests.postgres import pg_ctl
from tests.servers import free_port
from tests.test_audit import contact, write
from tests.waiting import eventually

SCRIPT = str(Path(sys.executable).with_name("postwarden"))
CREDENTIALS = ("postmark-hook", "hook-secret")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _environment(**extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
    environment.update(extra)
    return environment


def _start_serve(database_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``postwarden serve`` on the database, its scheduler importing the webhook inbox
    every half second, answering once ``/healthz`` does."""
    env = _environment(
        POSTWARDEN_HOOKS_POSTMARK_CREDENTIALS=":".join(CREDENTIALS),
        POSTWARDEN_SCHEDULE_INGEST_SECONDS="0.5",
        POSTWARDEN_BLOCKLISTS_ENABLED="false",
    )
    with log.open("ab") as output:
        process = subprocess.Popen(
            [SCRIPT, "serve", "--port", str(port), "--db", database_url], env=env, stderr=output
        )
    health = f"http://127.0.0.1:{port}/healthz"
    eventually(
        lambda: httpx.get(health, timeout=2).status_code == 200,
        interval=0.1,
        ignoring=(httpx.HTTPError,),
        describe=lambda: "serve did not start",
    )
    return process


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A served app on PostgreSQL (its server is restarted under it); its base URL."""
    if not database_url.startswith("postgresql"):
        pytest.skip("restarting the database server is tested on PostgreSQL")
    open_database(database_url).dispose()
    port = free_port()
    process = _start_serve(database_url, port, tmp_path / "serve.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _event(number: int) -> dict[str, object]:
    return {"RecordType": "Delivery", "MessageID": f"restart-{number}",
            "Recipient": f"user{number}@gmail.com", "DeliveredAt": "2026-11-24T10:00:00Z",
            "Tag": "november", "ServerID": 1, "MessageStream": "outbound"}  # fmt: skip


def test_a_database_restart_under_webhook_load_answers_503_and_loses_nothing(
    server: str, database_url: str
) -> None:
    statuses: Counter[int] = Counter()
    stored_ok: set[int] = set()
    refused: list[int] = []
    with httpx.Client(auth=CREDENTIALS, timeout=10) as esp:

        def deliver(number: int) -> int:
            code = esp.post(f"{server}/hooks/postmark", json=_event(number)).status_code
            statuses[code] += 1
            (stored_ok.add(number) if code == 200 else refused.append(number))
            return code

        for number in range(30):
            deliver(number)
        pg_ctl(database_url, "-m", "fast", "stop")
        try:
            # The database is gone: webhooks and health answer 503, never 500.
            assert [deliver(number) for number in range(30, 40)] == [503] * 10
            down = httpx.get(f"{server}/healthz", timeout=10)
            assert down.status_code == 503
        finally:
            # "restart" of a stopped server starts it with its previous options (its socket).
            pg_ctl(database_url, "restart")
        for number in range(40, 70):
            deliver(number)
        # The ESP retries what was refused (it got 5xx): now it is accepted.
        for number in list(refused):
            assert deliver(number) == 200
    assert set(statuses) == {200, 503} and statuses[503] == 10
    assert httpx.get(f"{server}/healthz", timeout=10).status_code == 200
    # The scheduler lost its lock with the database and leads again; its ingest job
    # imports what the inbox holds. Every event the ESP sent is stored exactly once.
    expected = [f"restart-{number}" for number in range(70)]
    eventually(
        lambda: _stored_postmark_events(database_url) == expected,
        timeout=60,
        interval=0.5,
        describe=lambda: _count_of(database_url, 70),
    )


def test_a_web_process_killed_under_webhook_load_loses_no_accepted_event(
    database_url: str, tmp_path: Path
) -> None:
    """kill -9 of ``serve`` while ESPs post: a request answered 200 was committed (its
    group's commit came first), one cut off gets no answer and is sent again, and the
    inbox imports each event once."""
    open_database(database_url).dispose()
    port = free_port()
    hook = f"http://127.0.0.1:{port}/hooks/postmark"
    log = tmp_path / "serve.log"
    process = _start_serve(database_url, port, log)
    accepted: set[int] = set()
    cut_off = Counter[str]()
    deadline = time.monotonic() + 90

    def esp(first: int) -> None:
        with httpx.Client(auth=CREDENTIALS, timeout=10) as client:
            for number in range(first, 400, 8):
                while time.monotonic() < deadline:  # as an ESP retries until it gets a 2xx
                    try:
                        if client.post(hook, json=_event(number)).status_code == 200:
                            accepted.add(number)
                            break
                    except httpx.TransportError as error:
                        cut_off[type(error).__name__] += 1
                    time.sleep(0.05)

    senders = [threading.Thread(target=esp, args=(first,)) for first in range(8)]
    try:
        for sender in senders:
            sender.start()
        eventually(
            lambda: len(accepted) >= 100,
            timeout=deadline - time.monotonic(),
            interval=0.01,
            describe=lambda: "the load did not start",
        )
        process.kill()
        process.wait(timeout=30)
        process = _start_serve(database_url, port, log)
        for sender in senders:
            sender.join(120)
        assert cut_off, "the kill should have cut requests off"
        assert accepted == set(range(400))
        # The new process's scheduler imports the inbox: every event, once.
        expected = [f"restart-{number}" for number in range(400)]
        eventually(
            lambda: _stored_postmark_events(database_url) == expected,
            timeout=deadline + 60 - time.monotonic(),
            interval=0.5,
            describe=lambda: _count_of(database_url, 400),
        )
    finally:
        process.terminate()
        process.wait(timeout=30)


def _count_of(database_url: str, expected: int) -> str:
    return f"{len(_stored_postmark_events(database_url))} of {expected} events imported"


def _stored_postmark_events(database_url: str) -> list[str]:
    engine = open_database(database_url)
    with engine.connect() as connection:
        stored = connection.exec_driver_sql(
            "SELECT message_id FROM events WHERE source = 'postmark'"
        ).scalars()
        ids = sorted(stored, key=lambda message: int(message.rsplit("-", 1)[1]))
    engine.dispose()
    return ids


def _limit_file_size(limit: int) -> None:
    # Python ignores SIGXFSZ, so a write past the limit fails with EFBIG, as on a full disk.
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_an_import_that_fills_the_disk_fails_cleanly_and_keeps_nothing_of_it(
    tmp_path: Path,
) -> None:
    database = tmp_path / "pw.db"
    db = f"sqlite:///{database}"
    first = write(tmp_path / "first.csv", [contact(f"kept{n}@example.org") for n in range(50)])
    assert postwarden("import", "contacts", str(first), "--db", db).code == 0
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    big = write(tmp_path / "big.csv", [contact(f"person{n}@example.org") for n in range(20_000)])
    room = database.stat().st_size + 64 * 1024
    result = subprocess.run(
        [SCRIPT, "import", "contacts", str(big), "--db", db],
        check=False,
        capture_output=True,
        text=True,
        env=_environment(),
        preexec_fn=lambda: _limit_file_size(room),
    )
    assert result.returncode == 3, result.stderr
    [line] = result.stderr.strip().splitlines()
    # EFBIG reads as SQLite's "disk I/O error"; ENOSPC as "database or disk is full".
    assert line.startswith("postwarden: database error: ") and "rolled back" in line
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        count = connection.execute("SELECT count(*) FROM contacts").fetchone()[0]
    assert count == 50  # all or nothing: none of the big file, all of the first
    # Room again: the same file imports.
    assert postwarden("import", "contacts", str(big), "--db", db).code == 0


def test_a_dns_server_killed_mid_sweep_gives_error_never_fail_and_the_next_sweep_recovers(
    engine: Engine,
) -> None:
    upgrade_database(engine)
    sessions = session_factory(engine)
    key = txt("v=DKIM1; k=rsa; p=" + rsa_key(2048))
    records = "".join(
        f'shop{n} TXT "v=spf1 ip4:192.0.2.10 -all"\nshop{n} MX 10 mx.shop{n}\n'
        f"mx.shop{n} A 192.0.2.10\n"
        f'_dmarc.shop{n} TXT "v=DMARC1; p=reject"\ns1._domainkey.shop{n} TXT {key}\n'
        for n in range(100)
    )
    zones = {"example.test.": zone(records)}
    with sessions() as session:
        for n in range(100):
            add_domain(session, f"shop{n}.example.test", T0, selectors=["s1"])
        session.commit()
    dns = ZoneServer(zones, delay=0.01).start()
    port = dns.port
    settings = Settings(
        dns=DnsSettings((parse_nameserver(dns.nameserver),), timeout=0.3, retries=0),
        alerts=AlertSettings(confirmations=1),
        blocklists=BlocklistSettings(enabled=False),
    )

    def kill_mid_sweep() -> None:
        eventually(lambda: dns.queries >= 150, interval=0.005)
        dns.stop()

    killer = threading.Thread(target=kill_mid_sweep)
    killer.start()
    with sessions() as session:
        sweep_authentication(session, T0, settings)
        session.commit()
    killer.join()
    # What was answered passed; what was asked after the kill could not be determined.
    # Nothing is fail, and no alert opened (one confirmation would have been enough).
    assert _statuses(sessions) == {"pass", "error"}
    assert _degraded_alerts(sessions) == 0
    restarted = ZoneServer(zones, port=port).start()
    try:
        with sessions() as session:
            sweep_authentication(session, T0 + timedelta(minutes=30), settings)
            session.commit()
    finally:
        restarted.stop()
    assert _statuses(sessions) == {"pass"}
    assert _degraded_alerts(sessions) == 0


def _statuses(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as session:
        return set(session.scalars(select(TargetStatus.status)))


def _degraded_alerts(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(session.scalars(select(Alert).where(Alert.problem == "degraded")).all())
