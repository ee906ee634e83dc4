"""ESP payloads, as their providers publish them, turned into normalised events.

Every fixture in tests/fixtures/events/ is a published example; SOURCES.md
there says where each was published and what (if anything) was changed:

- Amazon SES: https://docs.aws.amazon.com/ses/latest/dg/notification-examples.html,
  https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-examples.html,
  SNS envelope https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html
- SendGrid: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
- Mailjet: https://dev.mailjet.com/email/guides/webhooks/ (repo mailjet/api-documentation)
- Postmark: https://postmarkapp.com/developer/webhooks/bounce-webhook (and the
  spam-complaint, delivery, open-tracking, click, subscription-change pages)
- Mailgun: https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/webhook-payloads
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from compliance.events.formats import FORMATS, detect
from compliance.events.normalised import DeliveryEvent, Ignored, RecordError
from compliance.events.reader import EventFile
from store.engine import session_factory
from store.events import Event, EventDay
from tests.conftest import postwarden

FIXTURES = Path(__file__).parent / "fixtures" / "events"


def parsed(name: str) -> Iterator[DeliveryEvent | Ignored]:
    """Every item of a fixture file, each record's format detected."""
    with EventFile(FIXTURES / name) as file:
        for record in file:
            yield from detect(record.data).parse(record.data)


def summary(item: DeliveryEvent | Ignored) -> tuple[Any, ...]:
    if isinstance(item, Ignored):
        return ("ignored", item.type)
    return (item.type, item.bounce_type, item.recipient, item.time.isoformat(), item.campaign)


def test_ses_classic_notifications_raw_and_wrapped_in_sns() -> None:
    assert [summary(e) for e in parsed("ses_sns_bounce.json")] == [
        ("bounce", "hard", "jane@example.com", "2016-01-27T14:59:38.237000+00:00", ""),
    ]
    transient = list(parsed("ses_raw_transient_bounce.json"))
    assert [summary(e) for e in transient] == [
        ("bounce", "soft", "jane@example.com", "2016-01-27T14:59:38.237000+00:00", ""),
        ("bounce", "soft", "richard@example.com", "2016-01-27T14:59:38.237000+00:00", ""),
    ]
    # One feedback id covers both recipients: each event still has its own id.
    assert len({e.event_id for e in transient if isinstance(e, DeliveryEvent)}) == 2
    [complaint] = parsed("ses_raw_complaint.json")
    assert summary(complaint) == (
        "complaint",
        None,
        "richard@example.com",
        "2016-01-27T14:59:38.237000+00:00",
        "",
    )
    assert isinstance(complaint, DeliveryEvent) and complaint.reason == "abuse"
    [delivery] = parsed("ses_raw_delivery.json")
    assert summary(delivery)[:3] == ("delivered", None, "jane@example.com")


def test_ses_event_publishing_counts_what_counts_and_names_the_rest() -> None:
    items = list(parsed("ses_event_publishing.jsonl"))
    assert [summary(e)[:2] for e in items] == [
        ("sent", None),
        ("delivered", None),
        ("bounce", "hard"),
        ("complaint", None),
        ("ignored", "ses/Reject"),
        ("open", None),
        ("click", None),
        ("ignored", "ses/Rendering Failure"),
        ("ignored", "ses/DeliveryDelay"),
    ]
    events = [e for e in items if isinstance(e, DeliveryEvent)]
    assert {e.recipient for e in events} == {"recipient@example.com"}
    click = events[-1]
    assert click.url == "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html"
    # The published bounce and complaint share a feedback id; their event ids differ.
    assert events[2].event_id != events[3].event_id


def test_sendgrid_bounce_types_and_ignored_events() -> None:
    items = list(parsed("sendgrid_events.json"))
    assert [summary(e)[:2] for e in items] == [
        ("sent", None),
        ("delivered", None),
        ("ignored", "sendgrid/deferred"),
        ("bounce", "hard"),  # type: bounce
        ("bounce", "soft"),  # type: blocked
        ("ignored", "sendgrid/dropped"),
        ("open", None),
        ("click", None),
        ("complaint", None),
        ("unsubscribe", None),  # unsubscribe
        ("unsubscribe", None),  # group_unsubscribe
        ("ignored", "sendgrid/group_resubscribe"),
    ]
    first = items[0]
    assert isinstance(first, DeliveryEvent)
    assert (first.event_id, first.campaign, first.time.isoformat()) == (
        "rbtnWrG1DVDGGGFHFyun0A==",
        "cat facts",
        "2017-12-15T00:59:29+00:00",
    )
    click = items[7]
    assert isinstance(click, DeliveryEvent) and click.url == "http://www.sendgrid.com/"


def test_sendgrid_machine_opens_are_marked() -> None:
    record = {
        "email": "a@example.com",
        "timestamp": 1700000000,
        "event": "open",
        "sg_event_id": "x1",
        "sg_message_id": "m1",
        "sg_machine_open": True,
    }
    [event] = FORMATS["sendgrid"].parse(record)
    assert isinstance(event, DeliveryEvent) and event.machine


def test_mailjet_sent_is_a_delivery_and_blocked_was_never_sent() -> None:
    items = list(parsed("mailjet_events.json"))
    assert [summary(e)[:3] for e in items] == [
        ("delivered", None, "api@mailjet.com"),
        ("open", None, "api@mailjet.com"),
        ("click", None, "api@mailjet.com"),
        ("bounce", "hard", "bounce@mailjet.com"),
        ("ignored", "mailjet/blocked"),
        ("complaint", None, "bounce@mailjet.com"),
        ("unsubscribe", None, "api@mailjet.com"),
    ]
    bounce = items[3]
    assert isinstance(bounce, DeliveryEvent)
    assert bounce.reason == "recipient / user unknown"
    assert bounce.message_id == "13792286917004336"  # above 2**53: read exactly
    soft = dict(json.loads((FIXTURES / "mailjet_events.json").read_text())[3], hard_bounce=False)
    assert next(FORMATS["mailjet"].parse(soft)).bounce_type == "soft"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("postmark_bounce.json",
         ("bounce", "hard", "john@example.com", "2019-11-05T16:33:54.907025+00:00", "Test")),
        # TypeCode 512 in the published example, Type SpamComplaint: the Type wins.
        ("postmark_spam_complaint.json",
         ("complaint", None, "john@example.com", "2019-11-05T16:33:54.907025+00:00", "Test")),
        ("postmark_delivery.json",
         ("delivered", None, "john@example.com", "2019-11-05T16:33:54.907025+00:00",
          "welcome-email")),
        ("postmark_open.json",
         ("open", None, "john@example.com", "2019-11-05T16:33:54.907025+00:00", "welcome-email")),
        ("postmark_click.json",
         ("click", None, "john@example.com", "2017-10-25T15:21:11.906561+00:00", "welcome-email")),
        # A suppression that follows a hard bounce: the bounce was counted already.
        ("postmark_subscription_change.json",
         ("ignored", "postmark/SubscriptionChange HardBounce")),
    ],
)  # fmt: skip
def test_postmark_records(name: str, expected: tuple[Any, ...]) -> None:
    [item] = parsed(name)
    assert summary(item) == expected


def test_postmark_bounce_types_by_name() -> None:
    bounce = json.loads((FIXTURES / "postmark_bounce.json").read_text())
    kinds = {}
    for name in ("Transient", "SoftBounce", "BadEmailAddress", "AutoResponder"):
        [item] = FORMATS["postmark"].parse(dict(bounce, Type=name))
        kinds[name] = summary(item)[:2]
    assert kinds == {
        "Transient": ("bounce", "soft"),
        "SoftBounce": ("bounce", "soft"),
        "BadEmailAddress": ("bounce", "hard"),
        "AutoResponder": ("ignored", "postmark/Bounce AutoResponder"),
    }
    unsubscribe = dict(
        json.loads((FIXTURES / "postmark_subscription_change.json").read_text()),
        SuppressionReason="ManualSuppression",
    )
    assert summary(next(FORMATS["postmark"].parse(unsubscribe)))[0] == "unsubscribe"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mailgun_accepted.json", ("sent", None)),
        ("mailgun_delivered.json", ("delivered", None)),
        ("mailgun_failed_permanent.json", ("bounce", "hard")),
        ("mailgun_failed_temporary.json", ("bounce", "soft")),
        ("mailgun_opened.json", ("open", None)),
        ("mailgun_clicked.json", ("click", None)),
        ("mailgun_unsubscribed.json", ("unsubscribe", None)),
        ("mailgun_complained.json", ("complaint", None)),
    ],
)
def test_mailgun_webhooks(name: str, expected: tuple[Any, ...]) -> None:
    [item] = parsed(name)
    assert summary(item)[:2] == expected
    data = json.loads((FIXTURES / name).read_text())["event-data"]
    assert isinstance(item, DeliveryEvent)
    assert item.event_id == data["id"] and item.recipient == data["recipient"]
    assert item.time.timestamp() == pytest.approx(data["timestamp"], abs=1e-6)


def test_a_bare_mailgun_event_reads_like_a_webhook_body() -> None:
    body = json.loads((FIXTURES / "mailgun_failed_permanent.json").read_text())
    assert summary(next(detect(body["event-data"]).parse(body["event-data"]))) == summary(
        next(FORMATS["mailgun"].parse(body))
    )


@pytest.mark.parametrize(
    ("source", "record", "message"),
    [
        ("sendgrid", {"event": "open", "email": "nobody", "timestamp": 1, "sg_event_id": "x"},
         "email 'nobody' is not an e-mail address"),
        ("sendgrid", {"event": "open", "email": "a@b.example", "sg_event_id": "x"},
         "timestamp is missing"),
        ("mailgun", {"event-data": {"event": "failed", "id": "x", "recipient": "a@b.example",
                                    "timestamp": 1, "severity": "fatal"}},
         "severity 'fatal' is not one of permanent, temporary"),
        ("ses", {"notificationType": "Bounce", "mail": {},
                 "bounce": {"bounceType": "Permanent", "timestamp": "2026-01-01T00:00:00Z",
                            "bouncedRecipients": [{"emailAddress": "x"}]}},
         "bounce.bouncedRecipients[0].emailAddress 'x' is not an e-mail address"),
        ("postmark", {"RecordType": "Delivery", "Recipient": "a@b.example",
                      "DeliveredAt": "yesterday"},
         "DeliveredAt 'yesterday' is not an ISO 8601 time"),
    ],
)  # fmt: skip
def test_bad_records_name_the_field(source: str, record: dict[str, Any], message: str) -> None:
    with pytest.raises(RecordError) as raised:
        list(FORMATS[source].parse(record))
    assert str(raised.value) == message


def test_unknown_event_types_are_counted_not_fatal() -> None:
    record = {"event": "account_status_change", "sg_event_id": "e", "sg_message_id": "m"}
    assert list(FORMATS["sendgrid"].parse(record)) == [Ignored("sendgrid/account_status_change")]


def test_importing_every_published_payload(tmp_path: Path, engine: Engine) -> None:
    files = sorted(str(p) for p in FIXTURES.glob("*.json*"))
    result = postwarden("import", "events", *files, "--db", str(engine.url))
    assert result.code == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    # The published SendGrid examples reuse one sg_event_id for bounce and blocked.
    assert lines["sendgrid_events.json"] == (
        "12 records, 8 events imported, 1 duplicates skipped, 3 not counted "
        "(sendgrid/deferred 1, sendgrid/dropped 1, sendgrid/group_resubscribe 1)"
    )
    assert lines["ses_event_publishing.jsonl"] == (
        "9 records, 6 events imported, 0 duplicates skipped, 3 not counted "
        "(ses/DeliveryDelay 1, ses/Reject 1, ses/Rendering Failure 1)"
    )
    with session_factory(engine)() as session:
        sources = {(e.source, e.type) for e in session.scalars(select(Event))}
        days = sum(d.bounced_hard for d in session.scalars(select(EventDay)))
    assert {source for source, _ in sources} == {
        "ses",
        "sendgrid",
        "mailjet",
        "postmark",
        "mailgun",
    }
    # Hard bounces: SES 2 (SNS, publishing), SendGrid 1, Mailjet 1, Postmark 1, Mailgun 1.
    assert days == 6
    again = postwarden("import", "events", *files, "--db", str(engine.url))
    assert all(" 0 events imported" in line for line in again.stdout.splitlines())


def test_an_sns_wrapped_notification_and_its_raw_form_are_one_event(
    tmp_path: Path, engine: Engine
) -> None:
    envelope = json.loads((FIXTURES / "ses_sns_bounce.json").read_text())
    raw = tmp_path / "raw.json"
    raw.write_text(envelope["Message"])
    wrapped = str(FIXTURES / "ses_sns_bounce.json")
    assert (
        "1 events imported"
        in postwarden("import", "events", wrapped, "--db", str(engine.url)).stdout
    )
    second = postwarden("import", "events", str(raw), "--source", "ses", "--db", str(engine.url))
    assert "0 events imported, 1 duplicates skipped" in second.stdout


def test_a_bad_record_in_a_json_file_names_its_place(tmp_path: Path) -> None:
    path = tmp_path / "hook.json"
    records = json.loads((FIXTURES / "sendgrid_events.json").read_text())
    records[6]["email"] = "nobody"  # the open event
    path.write_text(json.dumps(records))
    result = postwarden("import", "events", str(path), "--db", f"sqlite:///{tmp_path / 'pw.db'}")
    assert result.code == 3
    assert result.stderr.strip() == (
        "postwarden: error: hook.json: record 7: email 'nobody' is not an e-mail address"
    )
