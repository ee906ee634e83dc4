"""Benchmark: webhook ingestion at a sustained rate, against a plain INSERT endpoint.

Starts ``postwarden serve`` (waitress, and the scheduler whose ``ingest``
job imports the webhook inbox every second) on a fresh SQLite database and
posts delivery events to ``/hooks/postmark`` over CLIENTS concurrent
keep-alive connections for SECONDS (a bounded loop: it stops by itself), one
event per request as Postmark sends them, then again in batches of BATCH as
Mailjet and SendGrid send them; one event in a hundred is sent twice, as an
ESP retrying would. When the load stops it waits for the inbox to be
imported (the time is printed as the import lag), stops the server and
counts the stored events: every accepted event must be stored exactly once.
The load comes from bench/http_load.py, one thread that costs little CPU:
the clients share the machine with the server.

In the same run, the peer: a bare WSGI app on the same server (waitress)
that parses the JSON and INSERTs each event into SQLite with one
``executemany`` and a commit per request — no authentication, validation,
normalisation or deduplication — under the same load.

    python -m bench.webhooks                      # 60 s per phase, 16 connections
    python -m bench.webhooks --seconds 10
    python -m bench.webhooks --batches 1          # one event per request only
    python -m bench.webhooks --postgres           # and on PostgreSQL: 1 and 2 web processes,
                                                  # and 1 beside a worker
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
from sqlalchemy import create_engine

from bench.http_load import Body, Load, run_load
from store.engine import open_database
from tests.postgres import postgres_bindir, running_postgres

CREDENTIALS = ("postmark-hook", "bench-secret")

PEER = r"""
import json, sqlite3, sys
from waitress import serve

database = sys.argv[1]
setup = sqlite3.connect(database)
setup.execute("PRAGMA journal_mode=WAL")
setup.execute("CREATE TABLE events (message_id TEXT, type TEXT, recipient TEXT, time TEXT, "
              "tag TEXT)")
setup.commit()
setup.close()
local = {}

def app(environ, start_response):
    if environ["PATH_INFO"] == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    records = json.loads(body)
    records = records if isinstance(records, list) else [records]
    connection = sqlite3.connect(database, timeout=30)
    connection.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)",
        [(r["MessageID"], r["RecordType"], r["Recipient"], r["DeliveredAt"], r["Tag"])
         for r in records])
    connection.commit()
    connection.close()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "12")])
    return [b'{"ok": true}']

serve(app, host="127.0.0.1", port=int(sys.argv[2]), threads=int(sys.argv[3]), _quiet=True)
"""


def _event(client: int, number: int) -> dict[str, object]:
    return {
        "RecordType": "Delivery",
        "MessageID": f"bench-{client}-{number}",
        "Recipient": f"user{number % 5000}@gmail.com",
        "DeliveredAt": "2026-11-24T10:00:00Z",
        "Tag": f"campaign-{number % 20}",
        "Details": "",
        "ServerID": 1,
        "MessageStream": "outbound",
    }


def postmark_body(batch: int) -> Callable[[int, int], Body]:
    """Request ``n`` of a connection: ``batch`` new events, the first of every hundredth
    request being the previous one again (an ESP's retry)."""

    def body(client: int, n: int) -> Body:
        first = n * batch
        records = [_event(client, first + offset) for offset in range(batch)]
        if n % 100 == 0 and n:
            records[0] = _event(client, first - 1)
        payload = records[0] if batch == 1 else records
        return json.dumps(payload).encode(), [str(r["MessageID"]) for r in records]

    return body


def _serve(command: list[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"{command[0]} did not start")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Endpoint:
    """Servers to load (one command per process), and how to count what they stored."""

    name: str
    commands: list[Callable[[int], list[str]]]
    path: str
    env: dict[str, str]
    count: Callable[[], int]
    auth: bool
    # Requests still waiting in the inbox (ours); None for the peer, which has none.
    waiting: Callable[[], int] | None = None
    # Processes without a port run beside the servers (a worker).
    background: tuple[list[str], ...] = ()


def phase(endpoint: Endpoint, seconds: float, clients: int, batch: int) -> tuple[float, Load, int]:
    """One load phase against ``endpoint``: accepted events/s, the load, the events stored."""
    ports = [_free_port() for _ in endpoint.commands]
    servers = [
        subprocess.Popen(
            command, env=endpoint.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for command in endpoint.background
    ]
    servers += [
        _serve(command(port), port, endpoint.env)
        for command, port in zip(endpoint.commands, ports, strict=True)
    ]
    try:
        urls = [f"http://127.0.0.1:{port}{endpoint.path}" for port in ports]
        load, elapsed = run_load(
            urls, seconds, clients, postmark_body(batch), CREDENTIALS if endpoint.auth else None
        )
        lag = _drained(endpoint.waiting) if endpoint.waiting else 0.0
    finally:
        for server in servers:
            _stop(server)
    stored = endpoint.count()
    rate = load.accepted_events / elapsed
    print(
        f"{endpoint.name:46} {load.requests / elapsed:7.0f} req/s {rate:7.0f} events/s  "
        f"failed {load.failed}  accepted {load.accepted_events:,} "
        f"({len(load.unique_ids):,} unique)  stored {stored:,}"
        + (
            f"  import lag {lag:.1f} s, stored {stored / (elapsed + lag):.0f} events/s end to end"
            if endpoint.waiting
            else ""
        )
    )
    return rate, load, stored


def _drained(waiting: Callable[[], int], timeout: float = 600.0) -> float:
    """Seconds until nothing waits in the inbox (the ingest job imports it)."""
    started = time.perf_counter()
    while waiting():
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"the inbox was not imported within {timeout:.0f} s")
        time.sleep(0.2)
    return time.perf_counter() - started


def _count(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.exec_driver_sql(sql).scalar_one())
    finally:
        engine.dispose()


def _ours(script: str, url: str, no_scheduler: bool, port: int) -> list[str]:
    return [script, "serve", "--port", str(port), "--db", url,
            *(["--no-scheduler"] if no_scheduler else [])]  # fmt: skip


def _peer(database: Path, threads: int, port: int) -> list[str]:
    return [sys.executable, "-c", PEER, str(database), str(port), str(threads)]


def ours(script: str, url: str, processes: int, label: str, worker: bool = False) -> Endpoint:
    """``postwarden serve`` in ``processes`` processes on database ``url`` (one scheduler
    leads, and imports the inbox every second); with ``worker``, ``serve --no-scheduler``
    and the schedule in a ``worker`` process of its own."""
    serve: list[Callable[[int], list[str]]] = [partial(_ours, script, url, worker)] * processes
    return Endpoint(
        f"postwarden{label}", serve, "/hooks/postmark",
        {**os.environ, "POSTWARDEN_HOOKS_POSTMARK_CREDENTIALS": ":".join(CREDENTIALS),
         "POSTWARDEN_SCHEDULE_INGEST_SECONDS": "1", "POSTWARDEN_BLOCKLISTS_ENABLED": "false"},
        partial(_count, url, "SELECT count(*) FROM events WHERE source = 'postmark'"), True,
        partial(_count, url, "SELECT count(*) FROM event_inbox WHERE error IS NULL"),
        ([script, "worker", "--db", url],) if worker else (),
    )  # fmt: skip


def checked(endpoint: Endpoint, seconds: float, clients: int, batch: int) -> float:
    """A phase of ours: every accepted event must be stored once (retries deduplicated)."""
    rate, load, stored = phase(endpoint, seconds, clients, batch)
    print(f"  lost or duplicated: {len(load.unique_ids) - stored}")
    if stored != len(load.unique_ids):
        raise SystemExit("stored events differ from the unique accepted events")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=16, help="concurrent connections")
    parser.add_argument(
        "--batches", type=int, nargs="+", default=[1, 100], help="events per request, a phase each"
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also on a throwaway PostgreSQL server: one and two web processes, and one "
        "beside a worker that runs the schedule",
    )
    args = parser.parse_args()
    script = str(Path(sys.executable).with_name("postwarden"))
    with tempfile.TemporaryDirectory(prefix="pw-hooks-") as tmp, ExitStack() as stack:
        directory = Path(tmp)
        server = None
        if args.postgres:
            bindir = postgres_bindir()
            if bindir is None:
                raise SystemExit("--postgres needs PostgreSQL: apt-get install postgresql")
            server = stack.enter_context(running_postgres(bindir))
        for batch in args.batches:
            label = "1 event/request" if batch == 1 else f"{batch} events/request"
            url = f"sqlite:///{directory / f'pw-{batch}.db'}"
            open_database(url).dispose()
            our_rate = checked(
                ours(script, url, 1, f", {label}"), args.seconds, args.clients, batch
            )
            peer_db = directory / f"peer-{batch}.db"
            peer = Endpoint(
                f"plain INSERT, {label}",
                [partial(_peer, peer_db, args.clients)],
                "/",
                dict(os.environ),
                partial(_count, f"sqlite:///{peer_db}", "SELECT count(*) FROM events"),
                False,
            )
            peer_rate, _, _ = phase(peer, args.seconds, args.clients, batch)
            print(f"  {label}: postwarden {our_rate / peer_rate:.2f}x the plain endpoint")
            if server is not None:
                for processes, worker in ((1, False), (2, False), (1, True)):
                    pg_url = _fresh_database(server, f"hooks_{batch}_{processes}_{worker}")
                    setup = "1 web + worker" if worker else f"{processes} web"
                    checked(ours(script, pg_url, processes, f" on PostgreSQL, {setup}, {label}",
                                 worker),
                            args.seconds, args.clients, batch)  # fmt: skip


def _fresh_database(server: str, name: str) -> str:
    """A new database on the PostgreSQL ``server``, migrated; its URL."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    url = server.replace("/postgres?", f"/{name}?")
    open_database(url).dispose()
    return url


if __name__ == "__main__":
    main()
