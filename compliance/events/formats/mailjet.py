"""Mailjet Event API: one event object per request, or an array of them ("version 2").

Reference: https://dev.mailjet.com/email/guides/webhooks/ (event types ``sent``,
``open``, ``click``, ``bounce``, ``spam``, ``blocked``, ``unsub``).

Mailjet's ``sent`` is posted when the receiving server accepted the
message (it carries the ``smtp_reply``), so it counts as a delivery.
``blocked`` means Mailjet did not send at all and does not count. Events
have no id of their own: one is derived from the message id, type,
recipient, time and link.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from compliance.events.formats.fields import recipient_at, required, text, time_at
from compliance.events.normalised import DeliveryEvent, Ignored, derived_id

SOURCE = "mailjet"
_TYPES = {
    "sent": "delivered",
    "bounce": "bounce",
    "spam": "complaint",
    "unsub": "unsubscribe",
    "open": "open",
    "click": "click",
}


def looks_like(record: Mapping[str, Any]) -> bool:
    """Mailjet events carry ``event``, ``time`` and ``MessageID`` or ``mj_campaign_id``."""
    return (
        "event" in record
        and "time" in record
        and ("mj_campaign_id" in record or "MessageID" in record)
    )


def parse(record: Mapping[str, Any]) -> Iterator[DeliveryEvent | Ignored]:
    """The event of one Mailjet event object."""
    name = str(required(record, "event")).strip()
    kind = _TYPES.get(name)
    if kind is None:
        yield Ignored(f"mailjet/{name}")
        return
    recipient = recipient_at(record, "email")
    time = time_at(record, "time")
    bounce = None
    reason = None
    if kind == "bounce":
        bounce = "hard" if record.get("hard_bounce") is True else "soft"
        reason = " / ".join(filter(None, (text(record, "error_related_to"), text(record, "error"))))
    message_id = text(record, "MessageID") or None
    url = text(record, "url") or None
    campaign = text(record, "customcampaign") or (
        f"mailjet:{record['mj_campaign_id']}" if record.get("mj_campaign_id") else ""
    )
    yield DeliveryEvent(
        source=SOURCE,
        event_id=derived_id(name, message_id, recipient, time.isoformat(), url),
        type=kind,
        recipient=recipient,
        time=time,
        bounce_type=bounce,
        campaign=campaign,
        message_id=message_id,
        reason=reason or None,
        url=url,
    )
