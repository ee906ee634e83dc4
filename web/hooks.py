"""``/hooks/<esp>``: delivery events pushed by ESPs, verified, then queued to import like a file.

Each request is authenticated the way its ESP documents (SNS signature for
SES, signed Event Webhook for SendGrid, HMAC for Mailgun, basic auth for
Postmark and Mailjet); one that is not gets 401/403 and nothing of it is
stored, nor is a SendGrid or Mailgun request signed longer ago than
``[hooks] max_age_seconds`` (a replay). A request whose records all parse is
accepted into the inbox (compliance.inbox) and imported within seconds by
the ``ingest`` job; events are deduplicated there on the ESP's event id, so
a retried delivery is harmless (idempotent).
"""

from __future__ import annotations

import hmac
import json
import re
import ssl
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
from flask import Blueprint, abort, jsonify, request

from compliance.events import Ignored, RecordError
from compliance.inbox import accept, parse_records
from compliance.webhook_signatures import (
    SignatureError,
    check_fresh,
    sns_certificate_url,
    verify_mailgun,
    verify_sendgrid,
    verify_sns,
)
from monitor.settings import HookSettings
from web.database import db
from web.settings import settings

blueprint = Blueprint("hooks", __name__, url_prefix="/hooks")
# Signing certificates by URL: SNS signs with few certificates, fetched once.
_CERTIFICATES: dict[str, bytes] = {}


def _refuse(code: int, reason: str) -> Any:
    response = jsonify(error=reason)
    response.status_code = code
    return response


def _json_body() -> Any:
    try:
        return json.loads(request.get_data())
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        abort(400, "the body is not JSON")


def _basic_auth_matches(credentials: str | None) -> bool:
    if not credentials or request.authorization is None:
        return False
    user, _, password = credentials.partition(":")
    given = request.authorization
    return hmac.compare_digest(given.username or "", user) and hmac.compare_digest(
        given.password or "", password
    )


def _import(source: str, records: list[Any]) -> Any:
    """Validate every record (all or nothing), then accept the request into the inbox."""
    try:
        items = parse_records(source, records)
    except RecordError as error:
        abort(400, str(error))
    ignored = Counter(item.type for item in items if isinstance(item, Ignored))
    events = len(items) - ignored.total()
    accept(db(), source, records, events, datetime.now(UTC))
    db().commit()
    return jsonify(events=events, accepted=events, ignored=dict(ignored))


def _records(body: Any) -> list[Any]:
    return body if isinstance(body, list) else [body]


@blueprint.post("/sendgrid")
def sendgrid() -> Any:
    key = settings().hooks.sendgrid_public_key
    if not key:
        return _refuse(403, "the SendGrid hook has no verification key configured")
    signature = request.headers.get("X-Twilio-Email-Event-Webhook-Signature", "")
    timestamp = request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", "")
    try:
        verify_sendgrid(key, signature, timestamp, request.get_data())
        check_fresh("SendGrid", timestamp, datetime.now(UTC), settings().hooks.max_age_seconds)
    except SignatureError as error:
        return _refuse(403, str(error))
    return _import("sendgrid", _records(_json_body()))


@blueprint.post("/mailgun")
def mailgun() -> Any:
    key = settings().hooks.mailgun_signing_key
    if not key:
        return _refuse(403, "the Mailgun hook has no signing key configured")
    body = _json_body()
    if not isinstance(body, dict) or not isinstance(body.get("signature"), dict):
        return _refuse(403, "no Mailgun signature in the body")
    try:
        verify_mailgun(key, body["signature"])
        stamp = body["signature"].get("timestamp")
        check_fresh("Mailgun", stamp, datetime.now(UTC), settings().hooks.max_age_seconds)
    except SignatureError as error:
        return _refuse(403, str(error))
    return _import("mailgun", [body])


@blueprint.post("/postmark")
def postmark() -> Any:
    if not _basic_auth_matches(settings().hooks.postmark_credentials):
        return _refuse(401, "basic auth with the configured Postmark credentials is required")
    return _import("postmark", _records(_json_body()))


@blueprint.post("/mailjet")
def mailjet() -> Any:
    if not _basic_auth_matches(settings().hooks.mailjet_credentials):
        return _refuse(401, "basic auth with the configured Mailjet credentials is required")
    return _import("mailjet", _records(_json_body()))


def _trust(hooks: HookSettings) -> ssl.SSLContext:
    """The system's CAs, or the configured CA file."""
    if hooks.sns_ca_file:
        return ssl.create_default_context(cafile=str(hooks.sns_ca_file))
    return ssl.create_default_context()


def _certificate(url: str, hooks: HookSettings) -> bytes:
    if url not in _CERTIFICATES:
        response = httpx.get(url, timeout=10, verify=_trust(hooks))
        response.raise_for_status()
        _CERTIFICATES[url] = response.content
    return _CERTIFICATES[url]


@blueprint.post("/ses")
def ses() -> Any:
    hooks = settings().hooks
    if not hooks.ses_enabled:
        return _refuse(403, "the SES hook is not enabled ([hooks] ses_enabled)")
    message = _json_body()
    if not isinstance(message, dict):
        return _refuse(403, "not an SNS message")
    pattern = re.compile(hooks.sns_cert_hosts)
    try:
        url = sns_certificate_url(message, pattern)
        verify_sns(message, _certificate(url, hooks))
    except SignatureError as error:
        return _refuse(403, str(error))
    except httpx.HTTPError as error:
        return _refuse(503, f"the SNS signing certificate could not be fetched: {error}")
    if hooks.sns_topics and message.get("TopicArn") not in hooks.sns_topics:
        return _refuse(403, f"topic {message.get('TopicArn')!r} is not accepted")
    if message.get("Type") == "SubscriptionConfirmation":
        subscribe = str(message.get("SubscribeURL", ""))
        try:
            sns_certificate_url({"SigningCertURL": subscribe}, pattern)  # same host rule
            httpx.get(subscribe, timeout=10, verify=_trust(hooks)).raise_for_status()
        except (SignatureError, httpx.HTTPError) as error:
            return _refuse(502, f"the subscription could not be confirmed: {error}")
        return jsonify(confirmed=message.get("TopicArn"))
    return _import("ses", [message])
