"""Benchmark: webhook ingestion at a sustained rate, against a plain INSERT endpoint.

Starts ``postwarden serve --no-scheduler`` (waitress) on a fresh SQLite
database and posts delivery events to ``/hooks/postmark`` from CLIENTS
concurrent connections for SECONDS (a bounded loop: it stops by itself),
one event per request as Postmark sends them, then again in batches of
BATCH as Mailjet and SendGrid send them; one event in a hundred is sent
twice, as an ESP retrying would. Then it stops the server and counts the
stored events: every accepted event must be stored exactly once.

In the same run, the peer: a bare WSGI app on the same server (waitress)
that parses the JSON and INSERTs each event into SQLite with one
``executemany`` and a commit per request — no authentication, validation,
normalisation or deduplication — under the same load.

    python -m bench.webhooks                      # 60 s per phase, 8 clients
    python -m bench.webhooks --seconds 10
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx

from store.engine import open_database

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
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"ok": true}']

serve(app, host="127.0.0.1", port=int(sys.argv[2]), threads=8, _quiet=True)
"""


@dataclass
class Load:
    """What the clients sent and what the server accepted."""

    requests: int = 0
    accepted_events: int = 0
    failed: int = 0
    unique_ids: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


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


def run_load(url: str, seconds: float, clients: int, batch: int, auth: bool) -> tuple[Load, float]:
    """Post events from ``clients`` threads until ``seconds`` have passed."""
    load = Load()
    deadline = time.perf_counter() + seconds

    def client(number: int) -> None:
        sent = 0
        with httpx.Client(auth=CREDENTIALS if auth else None, timeout=30) as http:
            while time.perf_counter() < deadline:
                records = [_event(number, sent + n) for n in range(batch)]
                if sent % 100 == 0 and sent:
                    records[0] = _event(number, sent - 1)  # an ESP's retry of the last one
                body = records[0] if batch == 1 else records
                response = http.post(url, content=json.dumps(body),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
                with load.lock:
                    load.requests += 1
                    if response.is_success:
                        load.accepted_events += len(records)
                        load.unique_ids.update(str(r["MessageID"]) for r in records)
                    else:
                        load.failed += 1
                sent += batch

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return load, time.perf_counter() - started


def _serve(command: list[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
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
    """A server to load: how to start it and how to count what it stored."""

    name: str
    command: Callable[[int], list[str]]
    path: str
    env: dict[str, str]
    database: Path
    count_sql: str
    auth: bool


def phase(endpoint: Endpoint, seconds: float, clients: int, batch: int) -> tuple[float, Load, int]:
    """One load phase against ``endpoint``: accepted events/s, the load, the events stored."""
    port = _free_port()
    server = _serve(endpoint.command(port), port, endpoint.env)
    try:
        load, elapsed = run_load(f"http://127.0.0.1:{port}{endpoint.path}", seconds, clients,
                                 batch, endpoint.auth)  # fmt: skip
    finally:
        _stop(server)
    with sqlite3.connect(endpoint.database) as connection:
        stored = int(connection.execute(endpoint.count_sql).fetchone()[0])
    rate = load.accepted_events / elapsed
    print(
        f"{endpoint.name:34} {load.requests / elapsed:7.0f} req/s {rate:7.0f} events/s  "
        f"failed {load.failed}  accepted {load.accepted_events:,} "
        f"({len(load.unique_ids):,} unique)  stored {stored:,}"
    )
    return rate, load, stored


def _ours(script: str, url: str, port: int) -> list[str]:
    return [script, "serve", "--no-scheduler", "--port", str(port), "--db", url]


def _peer(database: Path, port: int) -> list[str]:
    return [sys.executable, "-c", PEER, str(database), str(port)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    script = str(Path(sys.executable).with_name("postwarden"))
    with tempfile.TemporaryDirectory(prefix="pw-hooks-") as tmp:
        directory = Path(tmp)
        for batch in (1, args.batch):
            ours_db, peer_db = directory / f"pw-{batch}.db", directory / f"peer-{batch}.db"
            url = f"sqlite:///{ours_db}"
            open_database(url).dispose()
            label = "1 event/request" if batch == 1 else f"{batch} events/request"
            ours = Endpoint(
                f"postwarden, {label}", partial(_ours, script, url), "/hooks/postmark",
                {**os.environ, "POSTWARDEN_HOOKS_POSTMARK_CREDENTIALS": ":".join(CREDENTIALS)},
                ours_db, "SELECT count(*) FROM events WHERE source = 'postmark'", True,
            )  # fmt: skip
            peer = Endpoint(f"plain INSERT, {label}", partial(_peer, peer_db), "/",
                            dict(os.environ), peer_db, "SELECT count(*) FROM events",
                            False)  # fmt: skip
            our_rate, load, stored = phase(ours, args.seconds, args.clients, batch)
            # Every accepted event stored once: retries deduplicated, nothing lost.
            print(f"  lost or duplicated: {len(load.unique_ids) - stored}")
            peer_rate, _, _ = phase(peer, args.seconds, args.clients, batch)
            print(f"  {label}: postwarden {our_rate / peer_rate:.2f}x the plain endpoint")
            if stored != len(load.unique_ids):
                raise SystemExit("stored events differ from the unique accepted events")


if __name__ == "__main__":
    main()
