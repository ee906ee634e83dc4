"""Complaint feedback-loop reports (ARF, RFC 5965) read into complaint events (pure).

A report is a ``multipart/report; report-type=feedback-report`` with a
human-readable part, a ``message/feedback-report`` part of fields
(``Feedback-Type``, ``Original-Rcpt-To``, ``Arrival-Date``, …) and the
original message (``message/rfc822``) or only its headers
(``text/rfc822-headers``). Layouts seen in the wild and handled here:

- Yahoo's Complaint Feedback Loop: the recipient is redacted (no
  ``Original-Rcpt-To``, ``To`` removed or blanked); the original's
  ``Feedback-ID`` names the campaign.
- Microsoft's JMRP: recipient removed or masked, sometimes kept in the
  original's ``X-HmXmrOriginalRecipient`` header.

A redacted recipient still makes a complaint: it counts for its campaign and
for the mailbox provider that sent the report, under the recipient
:data:`REDACTED`. A complaint is identified by the original Message-ID and
the recipient, so the same report read twice (or from a mailbox and from a
file) is stored once.
"""

from __future__ import annotations

import email.policy
import email.utils
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser, HeaderParser

from compliance.events.normalised import DeliveryEvent, Ignored, derived_id
from compliance.rates.providers import DOMAINS, provider_of

SOURCE = "arf"
REDACTED = "(redacted)"
# Headers of the original message naming its campaign, most specific first.
# Feedback-ID is "CampaignID:CustomerID:MailType:SenderID" (Gmail's and Yahoo's FBLs key on it).
CAMPAIGN_HEADERS = ("X-Campaign", "X-Campaign-ID", "X-Mailgun-Campaign-Id")
_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_ADDRESS = 320
# Local parts mailbox providers mask recipients with: xxxxx@, ****@, redacted@, [redacted].
_MASKED = re.compile(r"^([x*#]+|redacted|\[redacted\]|-+|anonymous|removed)$", re.IGNORECASE)
# Where a report's sender domain does not say the provider by itself.
_REPORTERS = {
    "arf.mail.yahoo.com": "yahoo",
    "feedback.yahoo.com": "yahoo",
    "jmrp.microsoft.com": "microsoft",
}


class ArfError(ValueError):
    """A feedback report that cannot be read; the message names the part or field."""


@dataclass(frozen=True)
class Complaint:
    """One complaint of an ARF report, and where it came from."""

    event: DeliveryEvent
    feedback_type: str
    redacted: bool


def is_feedback_report(message: Message) -> bool:
    """Whether ``message`` is (or wraps, as a forwarded attachment) an ARF report."""
    return _find_report(message) is not None


def _find_report(message: Message) -> Message | None:
    for part in message.walk():
        if (
            part.get_content_type() == "multipart/report"
            and str(part.get_param("report-type", "")).lower() == "feedback-report"
        ):
            return part
    return None


def parse_message(raw: bytes) -> Message:
    """The message of ``raw`` bytes (compat32: tolerant of what mail servers send)."""
    return BytesParser(policy=email.policy.compat32).parsebytes(raw)


def read_arf(raw: bytes, *, now: datetime) -> Complaint | Ignored | None:
    """The complaint of one ARF report; Ignored for other feedback types; None if not ARF.

    Raises ArfError for a report that says it is ARF but lacks what RFC 5965 requires.
    """
    message = parse_message(raw)
    report = _find_report(message)
    if report is None:
        return None
    fields, original = _parts(report)
    feedback_type = (fields.get("Feedback-Type") or "").strip().lower()
    if not feedback_type:
        raise ArfError("feedback report has no Feedback-Type field")
    if feedback_type != "abuse":
        return Ignored(f"arf:{_clean(feedback_type, 40)}")
    recipient = _recipient(fields, original)
    provider = _provider(recipient, fields, message, report)
    redacted = recipient is None
    message_id = _message_id(original) or _message_id(message)
    if message_id is None:
        raise ArfError("neither the original message nor the report has a Message-ID")
    stored_recipient = recipient or REDACTED
    event = DeliveryEvent(
        source=SOURCE,
        event_id=derived_id(SOURCE, message_id, stored_recipient),
        type="complaint",
        recipient=stored_recipient,
        time=_arrival(fields, message, now),
        campaign=_campaign(original),
        message_id=message_id,
        reason=_reason(fields),
        provider=provider,
    )
    return Complaint(event, feedback_type, redacted)


def _parts(report: Message) -> tuple[Message, Message | None]:
    """The feedback fields and the original message (or its headers) of a report."""
    fields: Message | None = None
    original: Message | None = None
    parts = report.get_payload() if report.is_multipart() else []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, Message):
            continue
        kind = part.get_content_type()
        if kind == "message/feedback-report":
            fields = _fields_of(part)
        elif kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                original = inner[0]
        elif kind == "text/rfc822-headers":
            original = HeaderParser().parsestr(_text(part))
    if fields is None:
        raise ArfError("feedback report has no message/feedback-report part")
    return fields, original


def _fields_of(part: Message) -> Message:
    # The feedback fields are parsed as a one-message payload by the email
    # package; some reporters send them as plain text instead.
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        first = payload[0]
        if isinstance(first, Message):
            return first
    return HeaderParser().parsestr(_text(part))


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")
    return str(part.get_payload())


def _clean(value: object, limit: int) -> str:
    """Header text as it may be stored: no control characters (PostgreSQL refuses NUL), capped."""
    return _CONTROL.sub("", str(value)).strip()[:limit]


def _address_in(value: str | None) -> str | None:
    """The real (unmasked) address in a header value, lower-cased."""
    if not value:
        return None
    _name, address = email.utils.parseaddr(_clean(value, 1000))
    address = address or _clean(value, 1000)
    if len(address) > MAX_ADDRESS or not _ADDRESS.fullmatch(address):
        return None
    local = address.rpartition("@")[0]
    if _MASKED.match(local) or "redacted" in local.lower():
        return None
    return address.lower()


def _masked_domain(value: str | None) -> str | None:
    """The domain of a masked address (``xxxxx@yahoo.com``): who the recipient was with."""
    if not value or "@" not in value:
        return None
    domain = value.strip().strip("<>").rpartition("@")[2].strip("<> ").lower()
    return domain if "." in domain else None


def _recipient(fields: Message, original: Message | None) -> str | None:
    candidates = [fields.get("Original-Rcpt-To"), fields.get("Removal-Recipient")]
    if original is not None:
        candidates += [original.get("X-HmXmrOriginalRecipient"), original.get("To")]
    for value in candidates:
        if address := _address_in(value):
            return address
    return None


def _provider(
    recipient: str | None, fields: Message, message: Message, report: Message
) -> str | None:
    """The provider of a redacted complaint: the masked domain, else who sent the report."""
    if recipient is not None:
        return None  # the row writer derives it from the address
    for value in (fields.get("Original-Rcpt-To"), fields.get("Removal-Recipient")):
        domain = _masked_domain(value)
        if domain and provider_of(domain) != "other":
            return provider_of(domain)
    for header in (message.get("From"), report.get("From"), fields.get("Reporting-MTA")):
        domain = _masked_domain(email.utils.parseaddr(str(header or ""))[1]) or (
            str(header or "").rpartition(";")[2].strip().lower() or None
        )
        if domain:
            if domain in _REPORTERS:
                return _REPORTERS[domain]
            found = _provider_of_host(domain)
            if found != "other":
                return found
    agent = str(fields.get("User-Agent") or "").lower()
    if "yahoo" in agent:
        return "yahoo"
    if "hotmail" in agent or "microsoft" in agent or "jmrp" in agent:
        return "microsoft"
    return "other"


def _provider_of_host(host: str) -> str:
    """The provider of a reporter's host name or any of its parent domains."""
    labels = host.strip(".").split(".")
    for start in range(len(labels) - 1):
        parent = ".".join(labels[start:])
        if parent in DOMAINS or provider_of(parent) != "other":
            return provider_of(parent)
    return "other"


def _message_id(message: Message | None) -> str | None:
    if message is None:
        return None
    value = _clean(message.get("Message-ID") or "", 255)
    return value or None


def _campaign(original: Message | None) -> str:
    if original is None:
        return ""
    for header in CAMPAIGN_HEADERS:
        if value := _clean(original.get(header) or "", 255):
            return value
    feedback_id = _clean(original.get("Feedback-ID") or "", 1000)
    return feedback_id.split(":", 1)[0].strip()[:255] if feedback_id else ""


def _arrival(fields: Message, message: Message, now: datetime) -> datetime:
    """When the complaint was made: Arrival-Date, else the report's Date, else ``now``."""
    for value in (fields.get("Arrival-Date"), fields.get("Received-Date"), message.get("Date")):
        if not value:
            continue
        try:
            moment = email.utils.parsedate_to_datetime(str(value))
        except (TypeError, ValueError, IndexError):
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    return now


def _reason(fields: Message) -> str | None:
    parts = [
        f"{name}: {_clean(fields.get(name), 200)}"
        for name in ("User-Agent", "Source-IP", "Reported-Domain")
        if fields.get(name)
    ]
    return "; ".join(parts) or None
