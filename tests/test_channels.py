"""Channels against real peers: SMTP with STARTTLS and AUTH, webhooks, Apprise."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from monitor.channels.apprise_urls import AppriseTransport
from monitor.channels.email import EmailTransport
from monitor.channels.webhook import WebhookTransport
from monitor.outbox import Message, TransportError
from monitor.settings import SmtpSettings
from tests.conftest import postwarden
from tests.servers import free_port, make_certificate, smtp_server, webhook_server

PAYLOAD = {
    "event": "opened",
    "alert_id": 7,
    "target": "shop.example.test",
    "kind": "domain",
    "check": "dmarc",
    "problem": "degraded",
    "severity": "fail",
    "status": "fail",
    "previous_status": "pass",
    "summary": "DMARC_MISSING: shop.example.test publishes no DMARC record.",
    "findings": [
        {
            "code": "DMARC_MISSING",
            "level": "fail",
            "message": "Neither shop.example.test nor its organisational domain publishes DMARC.",
            "fix": "Publish a TXT record at _dmarc.<domain>.",
        }
    ],
    "opened_at": "2026-11-02T09:00:00+00:00",
    "resolved_at": None,
    "time": "2026-11-02T09:00:00+00:00",
    "link": None,
}
MESSAGE = Message(42, "email", "opened", PAYLOAD)


def test_mail_goes_over_starttls_with_login(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    with smtp_server(tls_files=(cert, key), login=("pw", "s3cret")) as server:
        settings = SmtpSettings(
            host="127.0.0.1",
            port=server.port,
            security="starttls",
            username="pw",
            password="s3cret",
            sender="alerts@example.test",
            recipients=("a@example.test", "b@example.test"),
            ca_file=str(cert),
        )
        EmailTransport(settings).notify(MESSAGE)
        (mail,) = server.mailbox.messages
    assert server.mailbox.recipients == [["a@example.test", "b@example.test"]]
    assert mail["Subject"] == "[Postwarden] FAIL: dmarc of shop.example.test"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/alternative"


def test_a_wrong_password_is_retried_not_dropped(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    with smtp_server(tls_files=(cert, key), login=("pw", "s3cret")) as server:
        settings = SmtpSettings(
            host="127.0.0.1",
            port=server.port,
            username="pw",
            password="wrong",
            recipients=("a@example.test",),
            ca_file=str(cert),
        )
        with pytest.raises(TransportError) as caught:
            EmailTransport(settings).notify(MESSAGE)
    assert caught.value.permanent is False
    assert "535" in str(caught.value)


def test_an_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    with smtp_server(tls_files=(cert, key)) as server:
        settings = SmtpSettings(host="127.0.0.1", port=server.port, recipients=("a@example.test",))
        with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
            EmailTransport(settings).notify(MESSAGE)
        assert server.mailbox.messages == []


def test_nobody_listening_is_a_transient_error() -> None:
    settings = SmtpSettings(
        host="127.0.0.1", port=free_port(), security="none", recipients=("a@example.test",)
    )
    with pytest.raises(TransportError) as caught:
        EmailTransport(settings).notify(MESSAGE)
    assert caught.value.permanent is False


def test_webhooks_are_signed_json() -> None:
    with webhook_server() as server:
        WebhookTransport(server.url, secret="k3y").notify(MESSAGE)
    (hook,) = server.received
    body = hook.json()
    assert (body["notification_id"], body["event"], body["target"]) == (
        42,
        "opened",
        "shop.example.test",
    )
    expected = hmac.new(b"k3y", hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["X-Postwarden-Signature"] == f"sha256={expected}"


def test_the_slack_format_is_a_text_message() -> None:
    with webhook_server() as server:
        WebhookTransport(server.url, style="slack").notify(MESSAGE)
    text = server.received[0].json()["text"]
    assert text.startswith("*[Postwarden] FAIL: dmarc of shop.example.test*")
    assert "DMARC_MISSING" in text


def test_apprise_delivers_through_its_own_url_scheme() -> None:
    with webhook_server() as server:
        port = server.url.split(":")[2].split("/")[0]
        AppriseTransport([f"json://127.0.0.1:{port}/hook"]).notify(MESSAGE)
    body = server.received[0].json()
    assert body["title"] == "[Postwarden] FAIL: dmarc of shop.example.test"
    assert "DMARC_MISSING" in body["message"]


def test_test_channel_sends_to_every_configured_channel(tmp_path: Path) -> None:
    with smtp_server() as mail, webhook_server() as hooks:
        config = tmp_path / "pw.toml"
        config.write_text(
            f'[smtp]\nhost = "127.0.0.1"\nport = {mail.port}\nsecurity = "none"\n'
            'recipients = ["pm@example.test"]\n'
            f'[alerts]\nwebhook_urls = ["{hooks.url}"]\n'
        )
        result = postwarden("alerts", "test-channel", "--config", str(config))
        assert result.code == 0, result.stderr
        assert result.stdout.splitlines() == ["email: sent", "webhook:0: sent"]
        assert mail.mailbox.messages[0]["Subject"] == "[Postwarden] Test notification"
        assert json.loads(hooks.received[0].body)["event"] == "test"


def test_test_channel_fails_in_one_line_when_a_channel_fails(tmp_path: Path) -> None:
    config = tmp_path / "pw.toml"
    config.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {free_port()}\nsecurity = "none"\n'
        'recipients = ["pm@example.test"]\n'
    )
    result = postwarden("alerts", "test-channel", "--config", str(config))
    assert result.code == 3
    assert result.stderr.startswith("email: FAILED: 127.0.0.1")
