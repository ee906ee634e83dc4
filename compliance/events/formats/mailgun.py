"""Mailgun webhooks: ``{"signature": {...}, "event-data": {...}}``, or the bare event-data.

References: https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/webhook-payloads
(events ``accepted``, ``delivered``, ``failed``, ``opened``, ``clicked``,
``unsubscribed``, ``complained``; ``failed`` with ``severity`` permanent
or temporary). The same objects are the items of the Events API.

``failed`` with ``severity: permanent`` is a hard bounce, ``temporary`` a
soft one. A ``failed`` whose reason starts with ``suppress-`` was never
sent (the address was already suppressed) and does not count. The
campaign is the ``campaign`` user variable (``v:campaign``), else the
message's first tag.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from compliance.events.formats.fields import get, listed, recipient_at, required, text, time_at
from compliance.events.normalised import DeliveryEvent, Ignored, RecordError

SOURCE = "mailgun"
_TYPES = {
    "accepted": "sent",
    "delivered": "delivered",
    "failed": "bounce",
    "complained": "complaint",
    "unsubscribed": "unsubscribe",
    "opened": "open",
    "clicked": "click",
}


def looks_like(record: Mapping[str, Any]) -> bool:
    """A webhook body has ``event-data``; an Events API item ``event``, ``id``, ``log-level``."""
    return "event-data" in record or {"event", "id", "log-level"} <= record.keys()


def parse(record: Mapping[str, Any]) -> Iterator[DeliveryEvent | Ignored]:
    """The event of one Mailgun webhook body or Events API item."""
    data = record.get("event-data", record)
    if not isinstance(data, Mapping):
        raise RecordError("event-data is not an object")
    name = str(required(data, "event")).strip()
    kind = _TYPES.get(name)
    if kind is None:
        yield Ignored(f"mailgun/{name}")
        return
    bounce = None
    reason = None
    if kind == "bounce":
        if text(data, "reason").startswith("suppress-"):
            yield Ignored(f"mailgun/failed {text(data, 'reason')}")
            return
        severity = text(data, "severity")
        if severity not in ("permanent", "temporary"):
            raise RecordError(f"severity {severity!r} is not one of permanent, temporary")
        bounce = "hard" if severity == "permanent" else "soft"
        reason = text(data, "delivery-status.message") or text(data, "reason") or None
    variables = data.get("user-variables")
    # A list by the documentation; a single bare tag is taken as itself.
    raw_tags = data.get("tags")
    tags = [raw_tags] if isinstance(raw_tags, str) else listed(data, "tags")
    tags = [tag for tag in tags if tag != "*"]
    campaign = (text(variables, "campaign") if isinstance(variables, Mapping) else "") or (
        str(tags[0]) if tags else ""
    )
    yield DeliveryEvent(
        source=SOURCE,
        event_id=str(required(data, "id")),
        type=kind,
        recipient=recipient_at(data, "recipient"),
        time=time_at(data, "timestamp"),
        bounce_type=bounce,
        campaign=campaign,
        message_id=text(data, "message.headers.message-id") or None,
        reason=reason,
        url=text(data, "url") or None,
        machine=kind == "open" and get(data, "client-info.bot") is True,
    )
