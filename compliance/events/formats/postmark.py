"""Postmark webhooks: Delivery, Bounce, SpamComplaint, Open, Click, SubscriptionChange.

References: https://postmarkapp.com/developer/webhooks/bounce-webhook and the
other pages under /developer/webhooks/; bounce types from
https://postmarkapp.com/developer/api/bounce-api#bounce-types.

A bounce is judged by its ``Type`` name: Postmark's own spam complaint
example carries ``TypeCode`` 512 (SpamNotification in the bounce-type
table) while saying ``Type: SpamComplaint``. Bounce records of types that
are not a failed delivery (auto-replies, address changes, challenge
mails, …) are counted apart as ignored. Bounces and complaints carry an
``ID``; the other records get an id derived from the message, recipient
and time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from compliance.events.formats.fields import recipient_at, required, text, time_at
from compliance.events.normalised import DeliveryEvent, Ignored, RecordError, derived_id

SOURCE = "postmark"
# The address will not take mail.
_HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated"}
# Delivery failed this time; the address may still work.
_SOFT = {"Transient", "SoftBounce", "DnsError", "Unknown", "Blocked", "DMARCPolicy"}
_COMPLAINTS = {"SpamComplaint"}
# The record shape of each type: (recipient field, time field).
_FIELDS = {
    "Delivery": ("Recipient", "DeliveredAt"),
    "Bounce": ("Email", "BouncedAt"),
    "SpamComplaint": ("Email", "BouncedAt"),
    "Open": ("Recipient", "ReceivedAt"),
    "Click": ("Recipient", "ReceivedAt"),
    "SubscriptionChange": ("Recipient", "ChangedAt"),
}


def looks_like(record: Mapping[str, Any]) -> bool:
    """Postmark webhooks say what they are in ``RecordType``."""
    return "RecordType" in record


def parse(record: Mapping[str, Any]) -> Iterator[DeliveryEvent | Ignored]:
    """The event of one Postmark webhook record."""
    record_type = str(required(record, "RecordType")).strip()
    if record_type not in _FIELDS:
        yield Ignored(f"postmark/{record_type}")
        return
    recipient_field, time_field = _FIELDS[record_type]
    bounce = None
    if record_type == "Delivery":
        kind = "delivered"
    elif record_type in ("Bounce", "SpamComplaint"):
        bounce_type = str(required(record, "Type")).strip()
        if bounce_type in _COMPLAINTS:
            kind = "complaint"
        elif bounce_type in _HARD or bounce_type in _SOFT:
            kind, bounce = "bounce", "hard" if bounce_type in _HARD else "soft"
        else:
            yield Ignored(f"postmark/{record_type} {bounce_type}")
            return
    elif record_type == "Open":
        kind = "open"
    elif record_type == "Click":
        kind = "click"
    else:
        change = _subscription(record)
        if change is None:
            reason = text(record, "SuppressionReason") or "resubscribe"
            yield Ignored(f"postmark/SubscriptionChange {reason}")
            return
        kind = change
    recipient = recipient_at(record, recipient_field)
    time = time_at(record, time_field)
    message_id = text(record, "MessageID") or None
    url = text(record, "OriginalLink") or None
    event_id = (
        f"{record_type}:{text(record, 'ID')}"
        if text(record, "ID")
        else derived_id(record_type, message_id, recipient, time.isoformat(), url)
    )
    yield DeliveryEvent(
        source=SOURCE,
        event_id=event_id,
        type=kind,
        recipient=recipient,
        time=time,
        bounce_type=bounce,
        campaign=text(record, "Tag"),
        message_id=message_id,
        reason=(text(record, "Details") or text(record, "Description") or None)
        if kind in ("bounce", "complaint")
        else None,
        url=url,
    )


def _subscription(record: Mapping[str, Any]) -> str | None:
    """``unsubscribe`` when a recipient stopped their mail; None for what counts elsewhere.

    A suppression for a hard bounce or a spam complaint follows an event
    already counted as such; lifting a suppression is no delivery event.
    """
    suppress = record.get("SuppressSending")
    if not isinstance(suppress, bool):
        raise RecordError(f"SuppressSending {suppress!r} is not true or false")
    if not suppress or text(record, "SuppressionReason") in ("HardBounce", "SpamComplaint"):
        return None
    return "unsubscribe"
