"""Webhooks under attack: replays (an old signature, a Mailgun token used twice), text a
database cannot store, a request whose import fails, and bodies past the limit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import func, select

from monitor.inbox import InboxWriter, drain_inbox, kept_requests
from monitor.settings import HookSettings, Settings, WebSettings
from store.engine import open_database, session_factory
from store.events import Event
from tests.conftest import postwarden
from tests.dashboard_data import populate
from tests.security.live import LiveServer, serving
from tests.test_hooks import SENDGRID_PUBLIC, sendgrid_headers, stored
from web.app import create_app
from web.policy import MAX_BODY_BYTES


@pytest.fixture
def hooks_app(tmp_path: Path) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    hooks = HookSettings(
        sendgrid_public_key=SENDGRID_PUBLIC,
        mailgun_signing_key="mg-key",
        postmark_credentials="pm:s3cret",
        max_age_seconds=300,
    )
    settings = Settings(database_url=url, web=WebSettings(secret_key="k"), hooks=hooks)
    flask_app = create_app(settings, session_factory(engine))
    flask_app.config["ENGINE"] = engine
    yield flask_app
    flask_app.extensions["postwarden_inbox"].close()
    engine.dispose()


SENDGRID_EVENT = {
    "email": "ann@example.com",
    "timestamp": 1764064800,
    "event": "delivered",
    "sg_event_id": "replayed-1",
}
SENDGRID_BODY = json.dumps([SENDGRID_EVENT]).encode()


@pytest.mark.parametrize("offset", [-301, -86_400, 3600])
def test_a_sendgrid_request_signed_long_ago_or_ahead_is_refused(
    hooks_app: Flask, offset: int
) -> None:
    stamp = str(int(time.time()) + offset)
    response = hooks_app.test_client().post(
        "/hooks/sendgrid", data=SENDGRID_BODY, headers=sendgrid_headers(SENDGRID_BODY, stamp)
    )
    assert response.status_code == 403
    assert "refused as a replay" in response.get_json()["error"]
    assert stored(hooks_app) == 0


def test_a_fresh_sendgrid_request_is_taken_once(hooks_app: Flask) -> None:
    client = hooks_app.test_client()
    fresh = sendgrid_headers(SENDGRID_BODY, str(int(time.time()) - 30))
    assert client.post("/hooks/sendgrid", data=SENDGRID_BODY, headers=fresh).status_code == 200
    assert stored(hooks_app) == 1


def mailgun_body(timestamp: str, token: str | None = None, event_id: str = "mg-1") -> bytes:
    token = token or secrets.token_hex(25)
    digest = hmac.new(b"mg-key", (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return json.dumps({
        "signature": {"timestamp": timestamp, "token": token, "signature": digest},
        "event-data": {"event": "delivered", "id": event_id, "recipient": "ann@example.com",
                       "timestamp": 1764064800.5},
    }).encode()  # fmt: skip


@pytest.mark.parametrize(("offset", "status"), [(-3600, 403), (0, 200)])
def test_a_mailgun_signature_is_judged_by_its_age(
    hooks_app: Flask, offset: int, status: int
) -> None:
    body = mailgun_body(str(int(time.time()) + offset))
    response = hooks_app.test_client().post(
        "/hooks/mailgun", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status
    assert stored(hooks_app) == (1 if status == 200 else 0)


def test_a_mailgun_timestamp_that_is_not_a_time_is_refused(hooks_app: Flask) -> None:
    response = hooks_app.test_client().post("/hooks/mailgun", data=mailgun_body("soon"))
    assert response.status_code == 403 and "is not a time" in response.get_json()["error"]


def test_a_webhook_body_nested_thousands_deep_is_a_bad_request(hooks_app: Flask) -> None:
    auth = base64.b64encode(b"pm:s3cret").decode()
    response = hooks_app.test_client().post(
        "/hooks/postmark",
        data=b"[" * 100_000 + b"]" * 100_000,
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and stored(hooks_app) == 0


def test_a_body_past_the_size_limit_is_refused_unread(hooks_app: Flask) -> None:
    auth = base64.b64encode(b"pm:s3cret").decode()
    response = hooks_app.test_client().post(
        "/hooks/postmark",
        data=b" " * (MAX_BODY_BYTES + 1),
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413 and stored(hooks_app) == 0


# -- Against a live server ------------------------------------------------------------------

HOOKS = HookSettings(
    mailgun_signing_key="mg-key", postmark_credentials="pm:s3cret", max_age_seconds=300
)
POSTMARK_AUTH = {"Authorization": "Basic " + base64.b64encode(b"pm:s3cret").decode()}
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def delivery(number: int, recipient: str | None = None) -> dict[str, Any]:
    """A Postmark delivery event."""
    return {"RecordType": "Delivery", "MessageID": f"m-{number}", "ServerID": 1,
            "Recipient": recipient or f"u{number}@example.com", "Tag": "november",
            "DeliveredAt": "2026-11-24T10:00:00Z", "MessageStream": "outbound"}  # fmt: skip


@pytest.fixture
def hook_server(database_url: str) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A live server with the Postmark and Mailgun hooks configured; its API tokens."""
    engine = open_database(database_url)
    tokens = populate(session_factory(engine))
    web = WebSettings(secret_key="live", secure_cookies=False)
    with serving(engine, Settings(database_url=database_url, web=web, hooks=HOOKS)) as live:
        yield live, tokens
    engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_nul_is_refused_and_a_request_that_cannot_be_imported_never_blocks_the_others(
    hook_server: tuple[LiveServer, dict[str, str]], database_url: str
) -> None:
    live, tokens = hook_server
    esp = live.browser()
    first = esp.post("/hooks/postmark", json=[delivery(1)], headers=POSTMARK_AUTH)
    assert first.status_code == 200
    for hostile in ("a\u0000b@example.com", "\ud800@example.com"):
        body = json.dumps([delivery(2, hostile)])  # \\u escapes, as an ESP would send them
        refused = esp.post(
            "/hooks/postmark",
            content=body,
            headers={**POSTMARK_AUTH, "Content-Type": "application/json"},
        )
        assert refused.status_code == 400, refused.text
        assert "record 1: field Recipient contains a" in refused.json()["error"]
    # One accepted before this check existed: its import fails on PostgreSQL.
    engine = open_database(database_url)
    writer = InboxWriter(engine)
    writer.append("postmark", [delivery(3, "c\u0000d@example.com")], 1, NOW)
    writer.close()
    last = esp.post("/hooks/postmark", json=[delivery(4)], headers=POSTMARK_AUTH)
    assert last.status_code == 200
    with session_factory(engine)() as session:
        report = drain_inbox(session, NOW)
        recipients = set(session.scalars(select(Event.recipient)))
        (kept,) = kept_requests(session)
    engine.dispose()
    assert recipients == {"u1@example.com", "u4@example.com"}
    assert report.inserted == 2 and report.kept_with_error == 1
    assert kept.error is not None and "NUL" in kept.error and "c\u0000d" not in kept.error
    metrics = esp.get("/metrics", headers={"Authorization": f"Bearer {tokens['postmaster']}"})
    assert "postwarden_inbox_kept 1.0" in metrics.text
    listed = postwarden("inbox", "list", "--db", database_url)
    assert listed.code == 1 and "1 kept because they could not be imported" in listed.stdout
    assert "NUL" in listed.stdout


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_mailgun_signature_used_twice_is_refused(
    hook_server: tuple[LiveServer, dict[str, str]],
) -> None:
    live, _ = hook_server
    esp = live.browser()
    token = secrets.token_hex(25)
    stamp = str(int(time.time()))
    signed = mailgun_body(stamp, token)
    assert esp.post("/hooks/mailgun", content=signed).status_code == 200
    # The same signature block with forged events: the token was seen.
    forged = mailgun_body(stamp, token, event_id="forged-1")
    replayed = esp.post("/hooks/mailgun", content=forged)
    assert replayed.status_code == 403 and "used already" in replayed.json()["error"]
    assert esp.post("/hooks/mailgun", content=signed).status_code == 403
    assert esp.post("/hooks/mailgun", content=mailgun_body(stamp)).status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("path", ["/hooks/postmark", "/login", "/api/v1/targets"])
def test_an_oversized_body_is_refused_before_it_is_read(
    hook_server: tuple[LiveServer, dict[str, str]], path: str
) -> None:
    live, _ = hook_server
    port = int(live.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        # 900 MB announced, unauthenticated; not a byte of it sent.
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            f"application/json\r\nContent-Length: {900 * 1024 * 1024}\r\n\r\n".encode()
        )
        answer = connection.recv(4096).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413"), answer


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_body_just_under_the_limit_is_still_read(
    hook_server: tuple[LiveServer, dict[str, str]],
) -> None:
    live, _ = hook_server
    records = json.dumps([delivery(1)]).encode()
    padded = records + b" " * (MAX_BODY_BYTES - len(records))
    answer = httpx.post(
        f"{live.url}/hooks/postmark",
        content=padded,
        timeout=60,
        headers={**POSTMARK_AUTH, "Content-Type": "application/json"},
    )
    assert answer.status_code == 200


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_inbox_sets_aside_a_request_whose_import_fails(database_url: str) -> None:
    engine = open_database(database_url)
    writer = InboxWriter(engine)
    for number, recipient in ((1, None), (2, "x\u0000y@example.com"), (3, None)):
        writer.append("postmark", [delivery(number, recipient)], 1, NOW)
    writer.close()
    with session_factory(engine)() as session:
        first = drain_inbox(session, NOW)
        again = drain_inbox(session, NOW)  # the kept one is not tried again and again
        count = session.scalar(select(func.count()).select_from(Event))
        (kept,) = kept_requests(session)
    engine.dispose()
    assert (first.requests, first.inserted, first.kept_with_error) == (2, 2, 1)
    assert (again.requests, again.kept_with_error) == (0, 0) and count == 2
    assert kept.error is not None and kept.error.startswith("import failed: ")
