"""``/hooks/<esp>``: delivery events pushed by ESPs, verified, then queued to import like a file.

Each request is authenticated the way its ESP documents (SNS signature for
SES, signed Event Webhook for SendGrid, HMAC for Mailgun, basic auth for
Postmark and Mailjet); one that is not gets 401/403 and nothing of it is
stored, nor is a SendGrid or Mailgun request signed longer ago than
``[hooks] max_age_seconds`` (a replay). A request whose records all parse is
accepted into the inbox (monitor.inbox: the requests arriving together
are committed together, and each is answered once it is on disk) and
imported within seconds by the ``ingest`` job; events are deduplicated there
on the ESP's event id, so a retried delivery is harmless (idempotent).

The hooks are a WSGI application of their own (werkzeug, which Flask is built
on), mounted at ``/hooks`` by :func:`web.app.create_app`. They are machine to
machine: no session, login, CSRF or template, which is most of what Flask does
per request; without it a hook request costs about half the CPU, and on a
busy server the GIL that every web thread shares is the limit.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import ssl
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from werkzeug.exceptions import BadRequest, HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from compliance.events.normalised import Ignored, RecordError
from compliance.storable_text import find_unstorable
from monitor.inbox import InboxUnavailable, InboxWriter, parse_records
from monitor.settings import HookSettings
from web.policy import MAX_BODY_BYTES, SECURITY_HEADERS
from web.webhook_replays import TokenLedger
from web.webhook_signatures import (
    SignatureError,
    check_fresh,
    sns_certificate_url,
    verify_mailgun,
    verify_sendgrid,
    verify_sns,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)


class _HookRequest(Request):
    # Refused with 413 before the body is read.
    max_content_length = MAX_BODY_BYTES


def _answer(code: int, **body: Any) -> Response:
    return Response(json.dumps(body), status=code, mimetype="application/json")


def _refuse(code: int, reason: str) -> Response:
    return _answer(code, error=reason)


def _json_body(request: Request) -> Any:
    try:
        return json.loads(request.get_data())
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        raise BadRequest("the body is not JSON") from None


def _records(body: Any) -> list[Any]:
    return body if isinstance(body, list) else [body]


def _basic_auth_matches(request: Request, credentials: str | None) -> bool:
    if not credentials or request.authorization is None:
        return False
    user, _, password = credentials.partition(":")
    given = request.authorization
    return hmac.compare_digest(given.username or "", user) and hmac.compare_digest(
        given.password or "", password
    )


class HookApp:
    """The ESP hooks, answering JSON; every request accepted goes through ``inbox``."""

    def __init__(self, hooks: HookSettings, inbox: InboxWriter) -> None:
        self._hooks = hooks
        self._inbox = inbox
        self._tokens = TokenLedger(inbox.engine)
        # Signing certificates by URL: SNS signs with few certificates, fetched once.
        self._certificates: dict[str, bytes] = {}
        self._routes: dict[str, Callable[[Request], Response]] = {
            "/sendgrid": self._sendgrid,
            "/mailgun": self._mailgun,
            "/postmark": self._postmark,
            "/mailjet": self._mailjet,
            "/ses": self._ses,
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = _HookRequest(environ)
        try:
            response = self._dispatch(request)
        except HTTPException as error:
            response = _refuse(error.code or 500, error.description or error.name)
            if isinstance(error, MethodNotAllowed):
                response.headers["Allow"] = "POST"
        except InboxUnavailable as error:
            # The database is down or restarting: 503 with Retry-After. ESPs retry
            # a webhook answered 5xx, so an event not accepted now is not lost.
            logger.warning("database unavailable: %s", str(error).splitlines()[0])
            response = _refuse(503, "The database is unavailable; try again shortly.")
            response.headers["Retry-After"] = "5"
        except Exception:
            logger.exception("webhook %s failed", request.path)
            response = _refuse(500, "internal error")
        response.headers.update(SECURITY_HEADERS)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        handler = self._routes.get(request.path)
        if handler is None:
            raise NotFound("no such hook")
        if request.method != "POST":
            raise MethodNotAllowed(["POST"])
        return handler(request)

    def _import(self, source: str, records: list[Any]) -> Response:
        """Validate every record (all or nothing), then accept the request into the inbox."""
        for number, record in enumerate(records, start=1):
            # Refused here, not left to fail the import of every request stored with it.
            if problem := find_unstorable(record):
                raise BadRequest(f"record {number}: {problem}")
        try:
            items = parse_records(source, records)
        except RecordError as error:
            raise BadRequest(str(error)) from None
        ignored = Counter(item.type for item in items if isinstance(item, Ignored))
        events = len(items) - ignored.total()
        self._inbox.append(source, records, events, datetime.now(UTC))
        return _answer(200, events=events, accepted=events, ignored=dict(ignored))

    def _sendgrid(self, request: Request) -> Response:
        key = self._hooks.sendgrid_public_key
        if not key:
            return _refuse(403, "the SendGrid hook has no verification key configured")
        signature = request.headers.get("X-Twilio-Email-Event-Webhook-Signature", "")
        timestamp = request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", "")
        try:
            verify_sendgrid(key, signature, timestamp, request.get_data())
            check_fresh("SendGrid", timestamp, datetime.now(UTC), self._hooks.max_age_seconds)
        except SignatureError as error:
            return _refuse(403, str(error))
        return self._import("sendgrid", _records(_json_body(request)))

    def _mailgun(self, request: Request) -> Response:
        key = self._hooks.mailgun_signing_key
        if not key:
            return _refuse(403, "the Mailgun hook has no signing key configured")
        body = _json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("signature"), dict):
            return _refuse(403, "no Mailgun signature in the body")
        now = datetime.now(UTC)
        try:
            verify_mailgun(key, body["signature"])
            stamp = body["signature"].get("timestamp")
            check_fresh("Mailgun", stamp, now, self._hooks.max_age_seconds)
        except SignatureError as error:
            return _refuse(403, str(error))
        # The signature covers the token, not the events: a token seen before is a replay.
        token = str(body["signature"].get("token", ""))
        if not self._tokens.claim("mailgun", token, now, self._hooks.max_age_seconds):
            return _refuse(403, "this Mailgun signature was used already (a replay)")
        try:
            return self._import("mailgun", [body])
        except Exception:
            self._tokens.release("mailgun", token)  # not accepted: Mailgun's retry must pass
            raise

    def _postmark(self, request: Request) -> Response:
        if not _basic_auth_matches(request, self._hooks.postmark_credentials):
            return _refuse(401, "basic auth with the configured Postmark credentials is required")
        return self._import("postmark", _records(_json_body(request)))

    def _mailjet(self, request: Request) -> Response:
        if not _basic_auth_matches(request, self._hooks.mailjet_credentials):
            return _refuse(401, "basic auth with the configured Mailjet credentials is required")
        return self._import("mailjet", _records(_json_body(request)))

    def _trust(self) -> ssl.SSLContext:
        """The system's CAs, or the configured CA file."""
        if self._hooks.sns_ca_file:
            return ssl.create_default_context(cafile=str(self._hooks.sns_ca_file))
        return ssl.create_default_context()

    def _certificate(self, url: str) -> bytes:
        if url not in self._certificates:
            response = httpx.get(url, timeout=10, verify=self._trust())
            response.raise_for_status()
            self._certificates[url] = response.content
        return self._certificates[url]

    def _ses(self, request: Request) -> Response:
        hooks = self._hooks
        if not hooks.ses_enabled:
            return _refuse(403, "the SES hook is not enabled ([hooks] ses_enabled)")
        message = _json_body(request)
        if not isinstance(message, dict):
            return _refuse(403, "not an SNS message")
        pattern = re.compile(hooks.sns_cert_hosts)
        try:
            url = sns_certificate_url(message, pattern)
            verify_sns(message, self._certificate(url))
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
                httpx.get(subscribe, timeout=10, verify=self._trust()).raise_for_status()
            except (SignatureError, httpx.HTTPError) as error:
                return _refuse(502, f"the subscription could not be confirmed: {error}")
            return _answer(200, confirmed=message.get("TopicArn"))
        return self._import("ses", [message])
