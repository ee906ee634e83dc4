"""Microsoft SNDS: CSVs in the published layout served from loopback, stored, judged, alerted."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from compliance.rates.snds_csv import parse_complaint_rate, parse_data, parse_ip_status
from monitor.targets import add_ip
from store.alerting import Alert
from store.engine import make_engine, session_factory, upgrade_database
from store.models import TargetStatus
from store.receivers import SndsDay
from tests.conftest import postwarden

FIXTURES = Path(__file__).parent / "fixtures" / "snds"
KEY = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def test_the_data_csv_is_read_and_a_broken_row_is_set_aside_with_its_reason() -> None:
    rows, aside = parse_data((FIXTURES / "data-112926.csv").read_text())
    assert [(r.ip, r.filter_result, r.complaint_rate, r.trap_hits) for r in rows] == [
        ("192.0.2.10", "GREEN", 0.001, 0),
        ("192.0.2.11", "RED", 0.006, 4),
        ("203.0.113.5", "YELLOW", 0.002, 0),
    ]
    assert rows[1].sample_helo == "mta2.sender.example"
    assert rows[1].activity_start == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    assert [(a.line, a.reason) for a in aside] == [
        (4, "filter result 'PURPLE' is not GREEN, YELLOW or RED")
    ]
    ranges, bad = parse_ip_status((FIXTURES / "ipstatus.csv").read_text())
    assert [(r.first_ip, r.last_ip, r.blocked) for r in ranges] == [
        ("192.0.2.11", "192.0.2.11", True),
        ("198.51.100.0", "198.51.100.255", True),
    ]
    assert not bad


@pytest.mark.parametrize(
    ("text", "rate"), [("< 0.1%", 0.001), ("0.6%", 0.006), ("", None), ("12%", 0.12)]
)
def test_complaint_rates_are_fractions(text: str, rate: float | None) -> None:
    assert parse_complaint_rate(text) == rate


@dataclass
class Snds:
    url: str = ""
    blocked: bool = True
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def snds_server() -> Iterator[Snds]:
    state = Snds()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            state.requests.append({"path": url.path, **query})
            if query.get("key") != KEY:
                self.send_response(403)
                self.end_headers()
                return
            if url.path == "/snds/data.aspx":
                path = FIXTURES / f"data-{query.get('date')}.csv"
                body = path.read_bytes() if path.exists() else b""
            else:
                body = (FIXTURES / "ipstatus.csv").read_bytes() if state.blocked else b""
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/snds/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def setup(tmp_path: Path, url: str, database_url: str, mode: int = 0o600) -> dict[str, str]:
    key_file = tmp_path / "snds.key"
    key_file.write_text(KEY + "\n")
    os.chmod(key_file, mode)
    config = tmp_path / "postwarden.toml"
    config.write_text(
        f'[database]\nurl = "{database_url}"\n[snds]\nkey_file = "snds.key"\nurl = "{url}"\n'
    )
    engine = make_engine(database_url)
    upgrade_database(engine)
    with session_factory(engine)() as session:
        for ip in ("192.0.2.10", "192.0.2.11"):
            add_ip(session, ip, datetime.now(UTC))
        session.commit()
    engine.dispose()
    return {"POSTWARDEN_CONFIG": str(config)}


def open_alerts(database_url: str) -> dict[str, str]:
    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        rows = session.scalars(select(Alert).where(Alert.check == "snds", Alert.state == "open"))
        found = {row.target: row.severity for row in rows}
    engine.dispose()
    return found


def test_a_red_ip_with_trap_hits_and_a_block_opens_an_alert_that_resolves_when_green(
    tmp_path: Path, snds_server: Snds, database_url: str
) -> None:
    env = setup(tmp_path, snds_server.url, database_url)
    result = postwarden("snds", "fetch", "--date", "2026-11-29", "--format", "json", env=env)
    assert result.code == 2, result.stderr
    report = result.json()
    assert set(report["ips"]) == {"192.0.2.10", "192.0.2.11"}  # 203.0.113.5 is not ours
    assert "1 IPs that are not monitored skipped" in report["outcome"]
    assert "1 rows set aside (data.aspx line 4: filter result 'PURPLE'" in report["outcome"]
    red = report["ips"]["192.0.2.11"]
    assert (red["filter_result"], red["complaint_rate"], red["trap_hits"]) == ("RED", 0.006, 4)
    assert red["sample_mail_from"] == "bounce@sender.example"
    assert report["blocked"] == ["192.0.2.11"]  # the other blocked range is not ours
    assert snds_server.requests[0] == {"path": "/snds/data.aspx", "key": KEY, "date": "112926"}
    assert open_alerts(database_url) == {"192.0.2.11": "fail"}

    empty = postwarden("snds", "fetch", "--date", "2026-11-28", env=env)
    assert "2026-11-28: 0 rows for 2 monitored IPs" in empty.stdout
    assert open_alerts(database_url) == {"192.0.2.11": "fail"}  # still blocked

    snds_server.blocked = False
    green = postwarden("snds", "fetch", "--date", "2026-11-30", env=env)
    assert green.code == 0, green.stdout + green.stderr
    assert open_alerts(database_url) == {}
    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        days = sorted((d.day, d.ip) for d in session.scalars(select(SndsDay)))
    engine.dispose()
    assert days == [
        (date(2026, 11, 29), "192.0.2.10"),
        (date(2026, 11, 29), "192.0.2.11"),
        (date(2026, 11, 30), "192.0.2.10"),
        (date(2026, 11, 30), "192.0.2.11"),
    ]


def test_a_key_file_others_can_read_is_refused_and_nothing_is_fetched(
    tmp_path: Path, snds_server: Snds
) -> None:
    env = setup(tmp_path, snds_server.url, f"sqlite:///{tmp_path / 'pw.db'}", mode=0o644)
    result = postwarden("snds", "fetch", "--date", "2026-11-29", env=env)
    assert result.code == 3
    assert "secret file is readable by others (mode 644); chmod 600 it" in result.stdout
    assert snds_server.requests == []


def test_a_refused_key_is_error_for_every_ip_never_pass(tmp_path: Path, snds_server: Snds) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    env = setup(tmp_path, snds_server.url, db)
    (tmp_path / "snds.key").write_text("wrong-key")
    result = postwarden("snds", "fetch", "--date", "2026-11-29", env=env)
    assert result.code == 3 and "answered HTTP 403" in result.stdout
    engine = make_engine(db)
    with session_factory(engine)() as session:
        statuses = {
            (row.target, row.status)
            for row in session.scalars(select(TargetStatus).where(TargetStatus.check == "snds"))
        }
    engine.dispose()
    assert statuses == {("192.0.2.10", "error"), ("192.0.2.11", "error")}
    assert open_alerts(db) == {}
