"""Webhook alerts: a JSON POST, or a Slack-compatible one; optionally signed."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from monitor.channels.render import render_text, subject
from monitor.outbox import Message, TransportError

TIMEOUT = 10.0


def webhook_body(message: Message, style: str) -> dict[str, Any]:
    """The JSON document posted: the notification itself, or Slack's ``text``."""
    if style == "slack":
        return {"text": f"*{subject(message.payload)}*\n{render_text(message.payload)}"}
    # Attachments are paths on this server: the receiver gets the files' names and hashes.
    fields = {key: value for key, value in message.payload.items() if key != "attachments"}
    return {"notification_id": message.id, "subject": subject(message.payload), **fields}


class WebhookTransport:
    """POSTs notifications to one URL."""

    def __init__(self, url: str, style: str = "json", secret: str | None = None) -> None:
        self.url, self.style, self.secret = url, style, secret

    def notify(self, message: Message) -> None:
        body = json.dumps(webhook_body(message, self.style)).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Postwarden",
            "Idempotency-Key": f"postwarden-{message.id}",
            "X-Postwarden-Event": message.event,
        }
        if self.secret:
            digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Postwarden-Signature"] = f"sha256={digest}"
        try:
            response = httpx.post(self.url, content=body, headers=headers, timeout=TIMEOUT)
        except httpx.HTTPError as error:
            raise TransportError(f"{self.url}: {error}") from None
        if response.is_success:
            return
        # The receiver rejects this request as such: sending it again will not help.
        permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
        raise TransportError(f"{self.url}: HTTP {response.status_code}", permanent=permanent)
