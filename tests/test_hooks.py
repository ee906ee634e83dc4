"""ESP webhooks: documented payloads accepted when signed as their ESP signs, refused (and
stored nowhere) otherwise, idempotent on redelivery."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.server
import json
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from monitor.inbox import DrainReport, drain_inbox, waiting
from monitor.settings import HookSettings, Settings, WebSettings
from store.engine import open_database, session_factory
from store.events import Event
from tests.servers import make_certificate
from web.app import create_app
from web.webhook_signatures import sns_string_to_sign

EVENTS = Path(__file__).parent / "fixtures" / "events"
SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC = base64.b64encode(
    SENDGRID_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()
SNS_KEY = rsa.generate_private_key(65537, 2048)


def _sns_certificate() -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.example")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(SNS_KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(SNS_KEY, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def sns_host(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """An https server on loopback standing in for sns.<region>.amazonaws.com."""
    certificate = _sns_certificate()
    fetched: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetched.append(self.path)
            body = certificate if self.path == "/cert.pem" else b"<ConfirmSubscriptionResponse/>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    tls_cert, tls_key = make_certificate(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_cert, tls_key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", tls_cert, fetched
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def app(tmp_path: Path, sns_host: tuple[str, Path, list[str]]) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    hooks = HookSettings(
        sendgrid_public_key=SENDGRID_PUBLIC,
        mailgun_signing_key="mg-signing-key",
        postmark_credentials="postmark:s3cret-pm",
        mailjet_credentials="mailjet:s3cret-mj",
        sns_cert_hosts=r"127\.0\.0\.1",
        sns_ca_file=sns_host[1],
        ses_enabled=True,
    )
    settings = Settings(database_url=url, web=WebSettings(secret_key="k"), hooks=hooks)
    flask_app = create_app(settings, session_factory(engine))
    flask_app.config["ENGINE"] = engine
    yield flask_app
    flask_app.extensions["postwarden_inbox"].close()
    engine.dispose()


def ingest(app: Flask) -> DrainReport:
    """What the scheduler's ``ingest`` job does: import what waits in the inbox."""
    with session_factory(app.config["ENGINE"])() as session:
        return drain_inbox(session, dt.datetime.now(dt.UTC))


def stored(app: Flask) -> int:
    """Events stored, once the inbox is drained."""
    ingest(app)
    with session_factory(app.config["ENGINE"])() as session:
        assert waiting(session) == (0, 0)
        return session.scalar(select(func.count()).select_from(Event)) or 0


def post(app: Flask, path: str, body: bytes, headers: dict[str, str] | None = None) -> Any:
    client: FlaskClient = app.test_client()
    return client.post(
        path, data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )


def sendgrid_headers(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    """Headers SendGrid signs ``body`` with, at ``timestamp`` (default: now)."""
    timestamp = timestamp or str(int(time.time()))
    signature = SENDGRID_KEY.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }


def test_sendgrid_signed_events_are_imported_once(app: Flask) -> None:
    body = (EVENTS / "sendgrid_events.json").read_bytes()
    forged = sendgrid_headers(body + b" ")
    assert post(app, "/hooks/sendgrid", body, forged).status_code == 403
    assert post(app, "/hooks/sendgrid", body).status_code == 403
    assert stored(app) == 0
    first = post(app, "/hooks/sendgrid", body, sendgrid_headers(body))
    assert first.status_code == 200
    # The published examples reuse one sg_event_id (bounce and blocked).
    assert first.get_json() == {
        "events": 9,
        "accepted": 9,
        "ignored": {"sendgrid/deferred": 1, "sendgrid/dropped": 1, "sendgrid/group_resubscribe": 1},
    }
    # Accepted into the inbox: imported by the ingest job, not in the request.
    with session_factory(app.config["ENGINE"])() as session:
        assert waiting(session) == (1, 9)
    imported = ingest(app)
    assert (imported.requests, imported.inserted, imported.duplicates) == (1, 8, 1)
    again = post(app, "/hooks/sendgrid", body, sendgrid_headers(body)).get_json()
    assert again["accepted"] == 9
    imported = ingest(app)
    assert (imported.inserted, imported.duplicates) == (0, 9)
    assert stored(app) == 8


def test_mailgun_hmac(app: Flask) -> None:
    published = json.loads((EVENTS / "mailgun_failed_permanent.json").read_text())
    # The documented example's signature is not made with our key.
    assert post(app, "/hooks/mailgun", json.dumps(published).encode()).status_code == 403
    token, timestamp = "a" * 50, str(int(time.time()))
    digest = hmac.new(b"mg-signing-key", (timestamp + token).encode(), hashlib.sha256)
    published["signature"] = {
        "timestamp": timestamp,
        "token": token,
        "signature": digest.hexdigest(),
    }
    response = post(app, "/hooks/mailgun", json.dumps(published).encode())
    assert response.status_code == 200 and response.get_json()["accepted"] == 1
    assert stored(app) == 1


@pytest.mark.parametrize(
    ("esp", "fixture", "credentials", "imported"),
    [
        ("postmark", "postmark_bounce.json", ("postmark", "s3cret-pm"), 1),
        ("mailjet", "mailjet_events.json", ("mailjet", "s3cret-mj"), 6),
    ],
)
def test_basic_auth_hooks(
    app: Flask, esp: str, fixture: str, credentials: tuple[str, str], imported: int
) -> None:
    body = (EVENTS / fixture).read_bytes()
    assert post(app, f"/hooks/{esp}", body).status_code == 401
    wrong = base64.b64encode(f"{credentials[0]}:nope".encode()).decode()
    assert post(app, f"/hooks/{esp}", body, {"Authorization": f"Basic {wrong}"}).status_code == 401
    assert stored(app) == 0
    right = base64.b64encode(":".join(credentials).encode()).decode()
    response = post(app, f"/hooks/{esp}", body, {"Authorization": f"Basic {right}"})
    assert response.status_code == 200 and response.get_json()["accepted"] == imported
    assert stored(app) == imported


def signed_sns(message: dict[str, Any], host: str) -> dict[str, Any]:
    message = {**message, "SignatureVersion": "2", "SigningCertURL": f"{host}/cert.pem"}
    signature = SNS_KEY.sign(sns_string_to_sign(message), padding.PKCS1v15(), hashes.SHA256())
    return {**message, "Signature": base64.b64encode(signature).decode()}


def test_ses_through_sns_verified_by_signature(
    app: Flask, sns_host: tuple[str, Path, list[str]]
) -> None:
    host, _, fetched = sns_host
    envelope = json.loads((EVENTS / "ses_sns_bounce.json").read_text())
    message = signed_sns(envelope, host)
    tampered = {**message, "Message": message["Message"].replace("jane@", "joan@")}
    assert post(app, "/hooks/ses", json.dumps(tampered).encode()).status_code == 403
    elsewhere = {**message, "SigningCertURL": "https://evil.example/cert.pem"}
    assert post(app, "/hooks/ses", json.dumps(elsewhere).encode()).status_code == 403
    assert stored(app) == 0
    response = post(app, "/hooks/ses", json.dumps(message).encode())
    assert response.status_code == 200 and response.get_json()["accepted"] == 1
    assert stored(app) == 1
    assert fetched == ["/cert.pem"]
    confirmation = signed_sns({
        "Type": "SubscriptionConfirmation", "MessageId": "m-1", "Token": "tok",
        "TopicArn": envelope["TopicArn"], "Message": "You have chosen to subscribe",
        "SubscribeURL": f"{host}/confirm?Token=tok", "Timestamp": "2026-11-25T10:00:00.000Z",
    }, host)  # fmt: skip
    confirmed = post(app, "/hooks/ses", json.dumps(confirmation).encode())
    assert confirmed.status_code == 200 and fetched[-1] == "/confirm?Token=tok"


def postmark_auth() -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(b"postmark:s3cret-pm").decode()}


def test_a_hook_answers_json_with_the_security_headers_and_no_session(app: Flask) -> None:
    body = (EVENTS / "postmark_delivery.json").read_bytes()
    response = post(app, "/hooks/postmark", body, postmark_auth())
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    # Machine to machine: no cookie is read or set.
    assert "Set-Cookie" not in response.headers and "Vary" not in response.headers


def test_an_unknown_hook_or_method_is_refused_in_json(app: Flask) -> None:
    client = app.test_client()
    missing = client.post("/hooks/nosuchesp", data=b"[]")
    assert missing.status_code == 404 and missing.get_json() == {"error": "no such hook"}
    read = client.get("/hooks/postmark")
    assert read.status_code == 405 and read.headers["Allow"] == "POST"
    assert "error" in read.get_json()
    assert stored(app) == 0


def test_a_hook_the_database_cannot_take_answers_503_to_be_retried(app: Flask) -> None:
    with app.config["ENGINE"].begin() as connection:
        connection.exec_driver_sql("ALTER TABLE event_inbox RENAME TO event_inbox_away")
    body = (EVENTS / "postmark_delivery.json").read_bytes()
    response = post(app, "/hooks/postmark", body, postmark_auth())
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.get_json() == {"error": "The database is unavailable; try again shortly."}
    with app.config["ENGINE"].begin() as connection:
        connection.exec_driver_sql("ALTER TABLE event_inbox_away RENAME TO event_inbox")
    # The ESP's retry is taken.
    assert post(app, "/hooks/postmark", body, postmark_auth()).status_code == 200
    assert stored(app) == 1
