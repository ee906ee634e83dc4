"""Hostile input: what fuzzing found (each bug on its literal input), decompression bombs,
messages built to exhaust the parser, injection through every form and the one-click
probe's refusal to reach private addresses (webhook replays: tests/security/test_webhooks.py)."""

from __future__ import annotations

import gzip
import json
import struct
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dns.message
import dns.rrset
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, inspect, select

from checks.dkim import evaluate_dkim_key
from checks.dmarc import DmarcFacts, evaluate_dmarc
from checks.dns import DnsError, DnsSettings, DnsSweep, parse_nameserver
from checks.dns_bulk import BulkAnswer, encode_question, read_reply
from checks.zoneserver import ZoneServer
from compliance.contacts.importer import ContactImportFailed, import_contacts
from compliance.events.formats import mailgun, sendgrid
from compliance.events.formats.generic_csv import Layout, row_values
from compliance.events.importer import ImportFailed, import_file
from compliance.events.normalised import RecordError, parse_time
from compliance.messages.audit import MAX_HEADER_BYTES, KeyUnavailable, audit_message
from compliance.messages.body import has_postal_address
from compliance.messages.one_click_probe import probe_one_click
from monitor.settings import (
    ReportSettings,
    Settings,
    SettingsError,
    WebSettings,
    load_settings,
)
from reports.jobs import render_reports
from store.contacts import Contact, Suppression
from store.engine import open_database, session_factory
from store.events import Event
from store.reports import ReportRun
from store.users import ApiToken, User
from tests.conftest import postwarden, zone
from tests.dashboard_data import PASSWORD, populate
from tests.test_audit_message import PUBLIC
from tests.test_web import csrf_of, logged_in
from web.app import create_app

NOW = datetime(2026, 11, 25, 10, tzinfo=UTC)
EVENTS_HEADER = "event_id,type,bounce_type,recipient,time,campaign,message_id\n"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Engine]:
    """An up-to-date SQLite database (what an import of a hostile file must leave empty)."""
    engine = open_database(f"sqlite:///{tmp_path / 'pw.db'}")
    yield engine
    engine.dispose()


def no_key(name: str) -> str:
    """A DKIM key lookup for messages whose signatures are beside the point."""
    return ""


# -- What fuzzing found, on the literal inputs -------------------------------------------


def test_a_dkim_key_that_is_not_base64_is_invalid_not_a_crash() -> None:
    result = evaluate_dkim_key("s1", "example.com", ["v=DKIM1; p=A"])
    assert [f.code for f in result.findings] == ["DKIM_KEY_INVALID"]


def test_a_dkim_key_for_another_service_is_not_for_email_not_a_crash() -> None:
    result = evaluate_dkim_key("s1", "example.com", [f"p={PUBLIC}; s=DKIM1"])
    assert [f.code for f in result.findings] == ["DKIM_KEY_NOT_FOR_EMAIL"]


@pytest.mark.parametrize(
    "value", [2593441329045, 1e308, float("nan"), float("inf"), -13652342852914143232,
              "99999999999999999999", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
              "¹"],
)  # fmt: skip
def test_times_out_of_the_calendar_are_record_errors(value: object) -> None:
    with pytest.raises(RecordError, match=r"^time "):
        parse_time(value)


def test_digits_that_are_not_ascii_are_not_numbers() -> None:
    facts = DmarcFacts(record="v=DMARC1; p=reject; pct=²", tags={"p": "reject"})
    assert "DMARC_PARTIAL_PCT" not in [f.code for f in evaluate_dmarc("x.test", facts).findings]
    with pytest.raises(ValueError, match="port '²' is not 1-65535"):
        parse_nameserver("192.0.2.1:²")


def test_a_sendgrid_timestamp_in_milliseconds_names_the_field() -> None:
    record = {
        "event": "delivered",
        "email": "a@example.com",
        "timestamp": 2593441329045,
        "sg_event_id": "x",
    }
    with pytest.raises(RecordError, match="timestamp 2593441329045 is not a Unix time"):
        list(sendgrid.parse(record))


def test_a_csv_time_that_leaves_the_calendar_in_utc_is_a_record_error() -> None:
    layout = Layout.from_header(["type", "recipient", "time"])
    with pytest.raises(RecordError, match="is not a real date and time"):
        row_values(["sent", "a@example.com", "0001-01-01T00:30:00+01:00"], layout)


def test_mailgun_tags_that_are_not_a_list() -> None:
    record = {"event": "delivered", "id": "e1", "recipient": "a@example.com", "timestamp": 1}
    with pytest.raises(RecordError, match="tags is not a list"):
        list(mailgun.parse({**record, "tags": 5}))
    (event,) = mailgun.parse({**record, "tags": "newsletter"})
    assert event.campaign == "newsletter"  # type: ignore[union-attr]


NAME = "2.0.0.127.zen.example"


def reply(opcode: int = 0, tail: bytes | None = None) -> bytes:
    """A reply listing NAME, with another opcode or with ``tail`` after the question."""
    query = dns.message.make_query(NAME, "A")
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text(NAME + ".", 300, "IN", "A", "127.0.0.2"))
    wire = bytearray(response.to_wire())
    wire[2:4] = struct.pack("!H", struct.unpack("!H", wire[2:4])[0] | opcode << 11)
    if tail is not None:
        wire = wire[: 12 + len(encode_question(NAME, 1))] + tail
    return bytes(wire)


def test_a_name_dns_cannot_carry_has_no_records(dns_server: ZoneServer) -> None:
    # A DKIM-Signature's d= with a stray byte took audit-message down (IDNAException).
    nameserver = parse_nameserver(dns_server.nameserver)
    resolver = DnsSweep(DnsSettings((nameserver,), timeout=1)).resolver()
    for name in ("s1._domainkey.\ufffdsender.example", "a..b.example", "x" * 70 + ".example"):
        assert resolver.lookup_txt(name) == []


def test_dns_replies_that_do_not_parse_are_reasons_not_exceptions() -> None:
    assert read_reply(NAME, 1, reply()) == BulkAnswer(NAME, 1, ("127.0.0.2",), ttl=300)
    assert read_reply(NAME, 1, reply(opcode=5)) == "malformed reply"  # an UPDATE "reply"
    assert read_reply(NAME, 1, reply(tail=b"\xc0\x0c\x00\x01")) == "malformed reply"
    assert read_reply(NAME, 1, b"\x00\x01") == "malformed reply"


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_contact_files_that_break_the_reader(tmp_path: Path, database: Engine) -> None:
    packed = bytearray(gzip.compress(b"email\nann@example.com\n"))
    packed[-8] ^= 0x55  # the CRC
    cases = {
        "crc.csv.gz": (bytes(packed), "crc.csv.gz: not a readable gzip file (CRC check failed"),
        "cut.csv.gz": (bytes(packed[:-6]), "cut.csv.gz: not a readable gzip file"),
        "quote.csv": (b'email\n"' + b"a" * 200_000 + b"\n", "quote.csv:2: field larger than"),
        "cr.csv": (b'"Email Address",OPTIN_TIME,CONFIRM_I\rP\nann@example.com,,\n', "cr.csv:"),
    }
    with session_factory(database)() as session:
        for name, (data, message) in cases.items():
            with pytest.raises(ContactImportFailed) as refused:
                import_contacts(session, write(tmp_path / name, data), now=NOW)
            assert str(refused.value).startswith(message) and "\n" not in str(refused.value)
            session.rollback()


def test_event_files_that_break_the_reader(tmp_path: Path, database: Engine) -> None:
    send = b'{"eventType":"Send","mail":{"destination":["a@b.co"],"timestamp":"2026-01-01T00:00Z"}}'
    cases = {
        "latin.jsonl": (send + b'\n{"a": "\xff"}\n', "latin.jsonl: not UTF-8 text"),
        "deep.jsonl": (send + b"\n" + b"[" * 100_000 + b"]" * 100_000 + b"\n",
                       "deep.jsonl:2: not valid JSON: nested too deeply"),
        # ijson keeps a path per level: this 200 kB once took gigabytes.
        "deep.json": (b"[" * 100_000 + b"]" * 100_000, "deep.json: after record 0: not valid "
                      "JSON: nested deeper than 64 levels"),
        "deep-object.json": (b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
                             "deep-object.json: not valid JSON: nested deeper than 64 levels"),
        "bytes.json": (b'[{"a": "\xff"}]', "bytes.json: after record 0: not valid JSON: "
                       "lexical error: invalid bytes in UTF8 string."),
        "lists.json": (b'[[[{"a": 1}]]]', "lists.json: record 1 item 1: expected a JSON object, "
                       "found list"),
    }  # fmt: skip
    with session_factory(database)() as session:
        for name, (data, message) in cases.items():
            with pytest.raises(ImportFailed) as refused:
                import_file(session, write(tmp_path / name, data), source="auto", now=NOW)
            assert str(refused.value).startswith(message), str(refused.value)
            assert "\n" not in str(refused.value)
            session.rollback()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"[dns]\ntimeout = 2\n# caf\xe9\n", "not UTF-8 text"),
        (b"[smtp]\nport = 1" + b"0" * 5000 + b"\n", "Exceeds the limit (4300 digits)"),
        (b"[dns]\ntimeout = 1" + b"0" * 400 + b"\n", "dns.timeout: int too large"),
        (b"[dns]\ntimeout = inf\n", "dns.timeout: must be a finite number"),
        (b'[dns]\n"time\\nout" = 1\n', "unknown setting 'dns.time\\nout'"),
        (b'[smtp]\npassword_file = "a\\nb"\n', "cannot read 'a\\nb'"),
    ],
)
def test_config_files_that_broke_the_loader(tmp_path: Path, text: bytes, message: str) -> None:
    path = write(tmp_path / "postwarden.toml", text)
    with pytest.raises(SettingsError) as refused:
        load_settings(str(path), environ={})
    assert message in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@\r\nSubject: x\r\n\r\nbody\r\n",  # IndexError in the address parser
        b"From: KIM-Signature: v=1; d=x\r\n\r\nbody\r\n",  # AttributeError: Group.local_part
        b" a\r\nDKIM-Signature: v=1; a=rsa-sha256; d=x; s=s; h=from; bh=A; b=A=\r\n\r\nx\r\n",
        b"From: a@b.example\r\nList-UnsuD\xb7#bscribe: <https://x>\r\n\r\nx\r\n",
        b"From: a@b.example\r\nDKIM-Signature: v=1; a=rsa-sha256; d=b.example; s=s1; h=from; "
        b"bh=2+93ELWd3zouMCPO<https:/auZzf=; b=AAAA\r\n\r\nx\r\n",  # binascii.Error
        b"From: a@b.example\r\nContent-Type: text/html; charset=bogus\x00\r\n\r\nhi\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=b.example; i=b.example; s=s1; h=from; bh=AAAA; "
        b"b=AAAA\r\nFrom: a@b.example\r\n\r\nx\r\n",  # IndexError: i= is d= without '@'
        b"From: a@b.example\r\nDKIM-Signature: v=1; a=rsa-sha256; d=\xffb.example; s=s1; "
        b"h=from; bh=AAAA; b=AAAA\r\n\r\nx\r\n",  # a key name DNS cannot carry
    ],
)
def test_messages_that_broke_the_audit_are_judged(dns_server: ZoneServer, raw: bytes) -> None:
    nameserver = parse_nameserver(dns_server.nameserver)
    resolver = DnsSweep(DnsSettings((nameserver,), timeout=1)).resolver()

    def key(name: str) -> str:  # as audit-message fetches keys
        try:
            return "".join(resolver.lookup_txt(name))
        except DnsError as error:
            raise KeyUnavailable(str(error)) from None

    result = audit_message(raw, key)
    assert result.status in ("pass", "warn", "fail", "error")


def test_a_long_hyphenated_word_does_not_stall_the_address_search() -> None:
    started = time.perf_counter()
    assert not has_postal_address("a-" * 20_000)  # took a minute before
    assert has_postal_address("Sender GmbH, Bürgermeister-Smidt-Straße 12, Bremen")
    assert time.perf_counter() - started < 5


def test_a_one_click_uri_with_an_unclosed_ipv6_bracket() -> None:
    status, found, code = probe_one_click("https://[[", lambda host: [])
    assert (status, [f.code for f in found], code) == ("error", ["ONE_CLICK_PROBE_ERROR"], None)


# -- Decompression bombs -----------------------------------------------------------------


def bomb(tmp_path: Path, name: str, first_line: bytes) -> Path:
    """A gzip file of ~100 kB that inflates to 100 MB."""
    return write(tmp_path / name, gzip.compress(first_line + b"\0" * 100_000_000, 9))


def test_a_gzip_bomb_of_events_is_refused_by_size_and_nothing_is_stored(
    tmp_path: Path, database: Engine
) -> None:
    path = bomb(tmp_path, "events.csv.gz", EVENTS_HEADER.encode())
    assert path.stat().st_size < 200_000
    result = postwarden("import", "events", str(path), "--db", str(database.url))
    assert result.code == 3
    assert result.stderr == (
        "postwarden: error: events.csv.gz: inflates to more than 16,777,216 bytes "
        "(100 times its compressed size): refused as a decompression bomb\n"
    )
    with session_factory(database)() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 0


def test_a_gzip_bomb_of_contacts_is_refused_by_size_and_nothing_is_stored(
    tmp_path: Path, database: Engine
) -> None:
    rows = b"email\n" + b"".join(b"c%d@example.com\n" % n for n in range(1000))
    path = bomb(tmp_path, "contacts.csv.gz", rows)
    result = postwarden("import", "contacts", str(path), "--db", str(database.url))
    assert result.code == 3
    assert result.stderr.startswith("postwarden: error: contacts.csv.gz: inflates to more than")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    with session_factory(database)() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0


def test_a_compressed_export_inflating_ten_times_still_imports(
    tmp_path: Path, database: Engine
) -> None:
    rows = "".join(f"e{n},sent,,r{n}@example.org,2026-11-01T00:00:00Z,c,\n" for n in range(20_000))
    path = write(tmp_path / "events.csv.gz", gzip.compress((EVENTS_HEADER + rows).encode()))
    result = postwarden("import", "events", str(path), "--db", str(database.url))
    assert result.code == 0, result.stderr
    assert "20000 events imported" in result.stdout


def test_a_corrupt_gzip_is_one_line_naming_the_file(tmp_path: Path, database: Engine) -> None:
    packed = gzip.compress(
        (EVENTS_HEADER + "e1,sent,,a@example.org,2026-11-01T00:00Z,,\n").encode()
    )
    path = write(tmp_path / "events.csv.gz", packed[:-6])
    result = postwarden("import", "events", str(path), "--db", str(database.url))
    assert result.code == 3
    assert result.stderr.startswith(
        "postwarden: error: events.csv.gz: cannot read: not a readable gzip file"
    )
    assert result.stderr.count("\n") == 1


# -- Messages built to exhaust the parser --------------------------------------------------


def run_audit(server: ZoneServer, path: Path, *extra: str) -> tuple[int, list[dict[str, Any]]]:
    result = postwarden("audit-message", str(path), "--nameserver", server.nameserver,
                        "--timeout", "1", "--format", "json", *extra)  # fmt: skip
    assert result.stderr == ""
    return result.code, json.loads(result.stdout)


def codes_of(result: dict[str, Any]) -> list[str]:
    return [item["code"] for item in result["findings"]]


def test_a_message_of_ten_thousand_parts_is_refused_quickly(
    tmp_path: Path, dns_server: ZoneServer
) -> None:
    parts = b"".join(
        b"--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % n for n in range(10_000)
    )
    head = b"From: news@sender.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    path = write(tmp_path / "parts.eml", head + parts + b"--b--\r\n")
    started = time.perf_counter()
    code, [result] = run_audit(dns_server, path)
    assert (code, result["status"], codes_of(result)) == (3, "error", ["MESSAGE_TOO_MANY_PARTS"])
    # Parsing the parts took about two seconds; the refusal does not parse them.
    assert time.perf_counter() - started < 10


def test_parts_hidden_behind_bare_carriage_returns_are_counted() -> None:
    parts = b"".join(b"--b\rContent-Type: text/plain\r\rpart %d\r" % n for n in range(2000))
    raw = b"From: a@b.example\rContent-Type: multipart/mixed; boundary=b\r\r" + parts + b"--b--\r"
    assert codes_of(audit_message(raw, no_key).to_json()) == ["MESSAGE_TOO_MANY_PARTS"]


def test_parts_nested_thousands_deep_are_refused() -> None:
    depth = 2000
    opening = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (n, n)
        for n in range(depth)
    )
    closing = b"".join(b"--b%d--\r\n" % n for n in reversed(range(depth)))
    raw = b"From: a@b.example\r\n" + opening + b"Content-Type: text/plain\r\n\r\nhi\r\n" + closing
    assert codes_of(audit_message(raw, no_key).to_json()) == ["MESSAGE_TOO_MANY_PARTS"]
    nested = audit_message(raw, no_key, max_parts=10_000).to_json()
    assert codes_of(nested) == ["MESSAGE_TOO_MANY_PARTS"]
    assert "nested deeper than 100" in nested["findings"][0]["message"]


def test_a_hundred_megabyte_header_is_refused_quickly(
    tmp_path: Path, dns_server: ZoneServer
) -> None:
    path = tmp_path / "header.eml"
    with path.open("wb") as handle:
        handle.write(b"From: news@sender.example\r\nX-Filler: x\r\n")
        for _ in range(100):
            handle.write(b" folded filler line\r\n" * 50_000)  # 1 MB of continuation lines
        handle.write(b"\r\nbody\r\n")
    started = time.perf_counter()
    code, [result] = run_audit(dns_server, path, "--max-bytes", str(200 * 1024 * 1024))
    assert (code, codes_of(result)) == (3, ["MESSAGE_HEADER_TOO_LARGE"])
    assert f"{MAX_HEADER_BYTES:,} bytes" in result["findings"][0]["message"]
    # A 5 MB header of such lines took 25 s to audit.
    assert time.perf_counter() - started < 20


@pytest.mark.slow  # the parse with a 1 MiB limit takes Python's email parser a while
def test_the_headers_of_parts_count_towards_the_limit() -> None:
    folded = b"Content-Type: text/plain;\r\n" + b" x-filler=abcdefghij;\r\n" * 15_000
    raw = (
        b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        + folded
        + b"\r\nhi\r\n--b--\r\n"
    )
    assert codes_of(audit_message(raw, no_key).to_json()) == ["MESSAGE_HEADER_TOO_LARGE"]
    assert audit_message(raw, no_key, max_header_bytes=1 << 20).checks


# -- The one-click probe and private addresses ----------------------------------------------


@pytest.fixture
def unsubscribe_server() -> Iterator[tuple[int, list[tuple[str, str]]]]:
    """Plain HTTP on loopback: /ok answers 200, /moved redirects to /secret on itself."""
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append((self.path, self.headers.get("Host", "")))
            if self.path == "/moved":
                self.send_response(307)
                self.send_header("Location", f"http://127.0.0.1:{port}/secret")
            else:
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield port, seen
    finally:
        server.shutdown()
        server.server_close()


def resolver_of(server: ZoneServer) -> Any:
    resolver = DnsSweep(DnsSettings((parse_nameserver(server.nameserver),), timeout=1)).resolver()

    def addresses(host: str) -> list[str]:
        return [str(r) for kind in ("A", "AAAA") for r in resolver.lookup(host, kind)]

    return addresses


def test_a_name_of_a_private_address_is_not_probed(
    dns_server: ZoneServer, unsubscribe_server: tuple[int, list[tuple[str, str]]]
) -> None:
    port, seen = unsubscribe_server
    dns_server.set_zone("sender.example.", zone("unsub A 127.0.0.1\nwide A 10.1.2.3\n"))
    for host in ("unsub.sender.example", "wide.sender.example", "127.0.0.1", "[::1]"):
        status, found, _ = probe_one_click(f"http://{host}:{port}/ok", resolver_of(dns_server))
        assert status == "error" and "private or loopback" in found[0].message
    assert seen == []


def test_a_redirect_to_a_private_address_is_not_followed(
    dns_server: ZoneServer, unsubscribe_server: tuple[int, list[tuple[str, str]]]
) -> None:
    port, seen = unsubscribe_server
    dns_server.set_zone("sender.example.", zone("unsub A 127.0.0.1\n"))
    status, found, code = probe_one_click(
        f"http://unsub.sender.example:{port}/moved", resolver_of(dns_server), allow_private=True
    )
    assert (status, code) == ("fail", 307)
    assert f"to http://127.0.0.1:{port}/secret" in found[0].message
    assert [path for path, _ in seen] == ["/moved"]  # /secret was never asked


def test_the_probe_connects_to_the_address_it_checked(
    dns_server: ZoneServer, unsubscribe_server: tuple[int, list[tuple[str, str]]]
) -> None:
    # The system resolver knows nothing of unsub.sender.example: the connection can only
    # reach the server through the address Postwarden's own lookup checked (no second
    # lookup a rebinding name could answer differently).
    port, seen = unsubscribe_server
    dns_server.set_zone("sender.example.", zone("unsub A 127.0.0.1\n"))
    status, _, code = probe_one_click(
        f"http://unsub.sender.example:{port}/ok", resolver_of(dns_server), allow_private=True
    )
    assert (status, code) == ("pass", 200)
    assert seen == [("/ok", f"unsub.sender.example:{port}")]


# -- SQL and HTML injection through the dashboard and the API -----------------------------

HOSTILE = ("'); DROP TABLE contacts;--", "<script>alert(1)</script>")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    sessions = session_factory(engine)
    tokens = populate(sessions)
    settings = Settings(
        database_url=url,
        web=WebSettings(secret_key="test-key"),
        reports=ReportSettings(directory=tmp_path / "reports"),
    )
    flask_app = create_app(settings, sessions)
    flask_app.config.update(POSTWARDEN_TOKENS=tokens, ENGINE=engine, SETTINGS=settings)
    yield flask_app
    engine.dispose()


def page_of(browser: FlaskClient, path: str) -> str:
    response = browser.get(path, follow_redirects=True)
    assert response.status_code in (200, 400, 404), (path, response.status_code)
    return response.get_data(as_text=True)


def post(browser: FlaskClient, path: str, form_page: str, data: dict[str, str]) -> str:
    token = csrf_of(page_of(browser, form_page))
    response = browser.post(path, data={**data, "csrf_token": token}, follow_redirects=True)
    assert response.status_code in (200, 400, 403, 404), (path, response.status_code)
    return response.get_data(as_text=True)


def assert_escaped(text: str) -> None:
    assert "<script>alert(1)</script>" not in text
    assert "<script>" not in text.replace('<script src="', "")


def test_hostile_text_in_every_form_and_parameter_is_stored_literally_and_shown_escaped(
    app: Flask,
) -> None:
    browser = logged_in(app, "admin")
    shown: list[str] = []
    for text in HOSTILE:
        shown.append(
            post(
                browser,
                "/settings/targets",
                "/settings/targets",
                {"action": "add", "kind": "domain", "name": text, "selectors": text},
            )
        )
        shown.append(
            post(
                browser,
                "/settings/targets",
                "/settings/targets",
                {"action": "add", "kind": "ip", "name": text},
            )
        )
        shown.append(
            post(
                browser,
                "/settings/targets",
                "/settings/targets",
                {"action": "remove", "kind": "domain", "name": text},
            )
        )
        shown.append(
            post(
                browser,
                "/settings/users",
                "/settings/",
                {"username": text, "password": PASSWORD, "role": "compliance"},
            )
        )
        shown.append(
            post(
                browser,
                "/settings/users",
                "/settings/",
                {"username": text + "x", "password": PASSWORD, "role": text},
            )
        )
        shown.append(
            post(
                browser, "/settings/tokens", "/settings/", {"username": "postmaster", "name": text}
            )
        )
        shown.append(
            post(browser, "/compliance/erase", "/compliance/", {"address": text, "confirm": text})
        )
        shown.append(
            post(
                browser,
                "/reports/",
                "/reports/",
                {
                    "kind": "compliance",
                    "format": "html",
                    "organisation": text,
                    "from": "2026-11-01",
                    "to": "2026-11-25",
                },
            )
        )
        shown.append(
            post(
                browser, "/reports/", "/reports/", {"kind": "compliance", "from": text, "to": text}
            )
        )
        shown.append(post(browser, "/account", "/account", {"current": text, "new": text}))
        for path in (
            "/alerts?state={}&target={}",
            "/?page={}",
            "/rates?days={}",
            "/domains/{}",
            "/ips/{}",
            "/compliance/offenders/{}",
            "/compliance/offenders/consent_missing?after={}&addresses={}",
            "/login?next={}",
            "/fragments/alerts?state={}&target={}",
        ):
            shown.append(page_of(browser, path.format(quote(text, safe=""), quote(text, safe=""))))
    outsider = app.test_client()
    for text in HOSTILE:
        shown.append(
            outsider.post("/login", data={"username": text, "password": text}).get_data(
                as_text=True
            )
        )
    shown += [page_of(browser, path) for path in ("/settings/", "/settings/targets", "/reports/")]
    for text in shown:
        assert_escaped(text)
    engine = app.config["ENGINE"]
    with session_factory(engine)() as session:
        usernames = set(session.scalars(select(User.username)))
        token_names = set(session.scalars(select(ApiToken.name)))
        organisations = [
            run.parameters.get("organisation") for run in session.scalars(select(ReportRun))
        ]
        assert set(HOSTILE) <= usernames and set(HOSTILE) <= token_names
        assert set(HOSTILE) <= set(organisations)
        assert session.scalar(select(func.count()).select_from(Suppression)) == 2
        assert session.scalar(select(func.count()).select_from(Contact)) == 1
        render_reports(session, datetime.now(UTC), app.config["SETTINGS"])
        session.commit()
        runs = list(session.scalars(select(ReportRun).where(ReportRun.status == "done")))
    assert len(runs) == 2
    for run in runs:
        html = next(f["name"] for f in run.files if f["name"].endswith(".html"))
        download = browser.get(f"/reports/{run.id}/{html}")
        report = download.get_data(as_text=True)
        download.close()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report or "&#39;); DROP" in report
        assert_escaped(report)
    assert {"contacts", "users", "api_tokens", "domains", "events"} <= set(
        inspect(engine).get_table_names()
    )


def test_hostile_api_parameters_answer_json_and_leave_the_tables(app: Flask) -> None:
    token = app.config["POSTWARDEN_TOKENS"]["admin"]
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for text in HOSTILE:
        for path in (
            "/api/v1/targets/{}",
            "/api/v1/targets/{}/history?limit={}",
            "/api/v1/alerts?state={}",
            "/api/v1/rates?days={}",
            "/api/v1/audits",
        ):
            response = api.get(
                path.format(quote(text, safe=""), quote(text, safe="")), headers=headers
            )
            assert response.status_code in (200, 400, 404), (path, response.status_code)
            assert response.is_json
            assert_escaped(response.get_data(as_text=True))
        sneaky = {"Authorization": f"Bearer {text}"}
        assert api.get("/api/v1/targets", headers=sneaky).status_code == 401
    with session_factory(app.config["ENGINE"])() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 1
