"""SendGrid Event Webhook: a JSON array of event objects.

Reference: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
``bounce`` events carry ``type`` ``bounce`` (hard: the address is rejected)
or ``blocked`` (the receiving server refused for now: soft); Apple Mail
Privacy Protection opens carry ``sg_machine_open: true``. ``deferred``,
``dropped`` and ``group_resubscribe`` do not count in the rates.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from compliance.events.formats.fields import first_text, recipient_at, text, time_at
from compliance.events.normalised import DeliveryEvent, Ignored, RecordError, derived_id

SOURCE = "sendgrid"
_TYPES = {
    "processed": "sent",
    "delivered": "delivered",
    "bounce": "bounce",
    "spamreport": "complaint",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "unsubscribe",
    "open": "open",
    "click": "click",
}


def looks_like(record: Mapping[str, Any]) -> bool:
    """SendGrid events carry ``sg_event_id`` (or at least ``sg_message_id``) and ``event``."""
    return "event" in record and ("sg_event_id" in record or "sg_message_id" in record)


def parse(record: Mapping[str, Any]) -> Iterator[DeliveryEvent | Ignored]:
    """The event of one SendGrid webhook object."""
    name = text(record, "event")
    if not name:
        raise RecordError("event is missing")
    kind = _TYPES.get(name)
    if kind is None:
        yield Ignored(f"sendgrid/{name}")
        return
    recipient = recipient_at(record, "email")
    time = time_at(record, "timestamp")
    bounce = None
    if kind == "bounce":
        bounce = "soft" if text(record, "type").lower() == "blocked" else "hard"
    message_id = text(record, "sg_message_id") or text(record, "smtp-id") or None
    url = text(record, "url") or None
    event_id = text(record, "sg_event_id") or derived_id(
        name, recipient, time.isoformat(), message_id, url
    )
    yield DeliveryEvent(
        source=SOURCE,
        event_id=event_id,
        type=kind,
        recipient=recipient,
        time=time,
        bounce_type=bounce,
        campaign=_campaign(record),
        message_id=message_id,
        reason=(text(record, "reason") or None) if kind == "bounce" else None,
        url=url,
        machine=kind == "open" and record.get("sg_machine_open") is True,
    )


def _campaign(record: Mapping[str, Any]) -> str:
    """A ``campaign`` custom argument, the Marketing Campaign's name, or the first category."""
    return (
        text(record, "campaign")
        or text(record, "marketing_campaign_name")
        or first_text(record.get("category"))
    )
