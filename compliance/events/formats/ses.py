"""Amazon SES notifications: raw or inside an SNS envelope, classic or event publishing.

References:
https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html (``notificationType``),
https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html
(``eventType``), https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html
(the envelope: ``Type: Notification`` with the SES JSON as a string in ``Message``).

A bounce or complaint names several recipients: one event each. Bounces
and complaints are identified by their ``feedbackId``; the other events
have no id of their own and get one derived from the SES message id, the
type, the recipient and the time, so the same notification delivered raw
or wrapped, once or twice, is stored once. The campaign is the message's
``campaign`` tag (``X-SES-MESSAGE-TAGS: campaign=…``), if any.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from compliance.events.formats.fields import (
    first_text,
    get,
    listed,
    required,
    text,
    time_at,
)
from compliance.events.normalised import (
    DeliveryEvent,
    Ignored,
    RecordError,
    derived_id,
    normalise_recipient,
)

SOURCE = "ses"
# Event types SES publishes that are not a delivery outcome Postwarden counts.
_NOT_COUNTED = {"Reject", "Rendering Failure", "DeliveryDelay", "Subscription"}


def looks_like(record: Mapping[str, Any]) -> bool:
    """An SNS envelope, or SES JSON: ``notificationType`` or ``eventType``, and ``mail``."""
    if "TopicArn" in record and "Type" in record:
        return True
    return "mail" in record and ("notificationType" in record or "eventType" in record)


def parse(record: Mapping[str, Any]) -> Iterator[DeliveryEvent | Ignored]:
    """The events of one SES notification (unwrapping an SNS envelope)."""
    if "TopicArn" in record and "Type" in record:
        yield from _envelope(record)
        return
    kind = text(record, "eventType") or text(record, "notificationType")
    mail = required(record, "mail")
    if not isinstance(mail, Mapping):
        raise RecordError("mail is not an object")
    common = {
        "message_id": text(record, "mail.messageId") or None,
        "campaign": first_text(get(record, "mail.tags.campaign")),
    }
    if kind == "Bounce":
        yield from _bounces(record, common)
    elif kind == "Complaint":
        yield from _complaints(record, common)
    elif kind == "Delivery":
        yield from _simple(record, "delivered", "delivery.recipients", "delivery.timestamp", common)
    elif kind == "Send":
        yield from _simple(record, "sent", "mail.destination", "mail.timestamp", common)
    elif kind == "Open":
        yield from _simple(record, "open", "mail.destination", "open.timestamp", common)
    elif kind == "Click":
        url = text(record, "click.link") or None
        yield from _simple(record, "click", "mail.destination", "click.timestamp", common, url)
    elif kind in _NOT_COUNTED:
        yield Ignored(f"ses/{kind}")
    elif not kind:
        raise RecordError("notificationType/eventType is missing")
    else:
        yield Ignored(f"ses/{kind}")


def _envelope(record: Mapping[str, Any]) -> Iterator[DeliveryEvent | Ignored]:
    kind = text(record, "Type")
    if kind != "Notification":  # SubscriptionConfirmation, UnsubscribeConfirmation
        yield Ignored(f"sns/{kind}")
        return
    try:
        message = json.loads(required(record, "Message"))
    except (TypeError, ValueError):
        raise RecordError("Message is not an SES notification in JSON") from None
    if not isinstance(message, Mapping) or not looks_like(message):
        raise RecordError("Message is not an SES notification in JSON")
    yield from parse(message)


def _bounces(record: Mapping[str, Any], common: dict[str, Any]) -> Iterator[DeliveryEvent]:
    bounce_type = text(record, "bounce.bounceType")
    # Permanent: the address will not take mail. Transient and Undetermined
    # (SES could not tell) do not condemn the address: soft.
    if bounce_type not in ("Permanent", "Transient", "Undetermined"):
        raise RecordError(
            f"bounce.bounceType {bounce_type!r} is not one of Permanent, Transient, Undetermined"
        )
    severity = "hard" if bounce_type == "Permanent" else "soft"
    subtype = text(record, "bounce.bounceSubType")
    for item, event in _feedback_events(record, "bounce", "bouncedRecipients", common):
        reason = text(item, "diagnosticCode") or subtype or None
        yield replace(event, bounce_type=severity, reason=reason)


def _complaints(
    record: Mapping[str, Any], common: dict[str, Any]
) -> Iterator[DeliveryEvent | Ignored]:
    if text(record, "complaint.complaintSubType") == "OnAccountSuppressionList":
        # SES did not send: the address was already suppressed for an
        # earlier complaint, which was counted when it came.
        yield Ignored("ses/Complaint OnAccountSuppressionList")
        return
    feedback_type = text(record, "complaint.complaintFeedbackType") or None
    for _item, event in _feedback_events(record, "complaint", "complainedRecipients", common):
        yield replace(event, reason=feedback_type)


def _feedback_events(
    record: Mapping[str, Any], kind: str, recipients: str, common: dict[str, Any]
) -> Iterator[tuple[Mapping[str, Any], DeliveryEvent]]:
    """One event per recipient of a bounce or complaint, with the recipient's item."""
    time = time_at(record, f"{kind}.timestamp")
    feedback = text(record, f"{kind}.feedbackId")
    for number, item in enumerate(listed(record, f"{kind}.{recipients}")):
        recipient = normalise_recipient(
            get(item, "emailAddress"), f"{kind}.{recipients}[{number}].emailAddress"
        )
        event_id = _id(feedback, kind, recipient, time.isoformat(), common["message_id"])
        yield (
            item,
            DeliveryEvent(
                source=SOURCE,
                event_id=event_id,
                type=kind,
                recipient=recipient,
                time=time,
                **common,
            ),
        )


def _simple(
    record: Mapping[str, Any],
    kind: str,
    recipients_path: str,
    time_path: str,
    common: dict[str, Any],
    url: str | None = None,
) -> Iterator[DeliveryEvent]:
    time = time_at(record, time_path)
    recipients = listed(record, recipients_path)
    if not recipients:
        raise RecordError(f"{recipients_path} is missing")
    for number, address in enumerate(recipients):
        recipient = normalise_recipient(address, f"{recipients_path}[{number}]")
        yield DeliveryEvent(
            source=SOURCE,
            event_id=_id("", kind, recipient, time.isoformat(), common["message_id"], url),
            type=kind,
            recipient=recipient,
            time=time,
            url=url,
            **common,
        )


def _id(feedback: str, *parts: object) -> str:
    """The feedback id per recipient, else one derived from what identifies the event."""
    if feedback:  # one feedback id may cover several recipients
        return f"{feedback}/{parts[0]}/{parts[1]}"
    return derived_id(*parts)
