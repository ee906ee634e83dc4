"""Complaint feedback loops (ARF, RFC 5965): parsing each layout, storing, deduplicating."""

from __future__ import annotations

import csv
import json
import mailbox
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from compliance.events.arf import REDACTED, ArfError, Complaint, read_arf
from compliance.events.arf_import import import_arf_message
from compliance.events.normalised import Ignored
from store.contacts import RecipientActivity
from store.engine import make_engine, session_factory, upgrade_database
from store.events import Event, EventDay
from tests.conftest import postwarden

FIXTURES = Path(__file__).parent / "fixtures" / "arf"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def complaint(name: str) -> Complaint:
    found = read_arf((FIXTURES / name).read_bytes(), now=NOW)
    assert isinstance(found, Complaint), found
    return found


def test_an_rfc_5965_report_names_the_recipient_campaign_and_arrival() -> None:
    found = complaint("rfc5965.eml")
    event = found.event
    assert (event.type, event.recipient, event.campaign) == (
        "complaint",
        "ann@gmail.com",
        "spring-sale",
    )
    assert event.message_id == "<8787KJKJ3K4J3K4J3K4J3.mail@sender.example>"
    assert event.time == datetime(2026, 3, 8, 18, 0, tzinfo=UTC)  # 14:00 EDT
    assert event.provider is None and not found.redacted
    assert "Source-IP: 192.0.2.1" in (event.reason or "")


def test_yahoos_redacted_cfl_report_counts_for_its_campaign_and_yahoo() -> None:
    found = complaint("yahoo-cfl.eml")
    assert found.redacted
    assert (found.event.recipient, found.event.provider) == (REDACTED, "yahoo")
    assert found.event.campaign == "nov-weekly"  # the first field of Feedback-ID
    assert found.event.message_id == "<nov-weekly-0001@sender.example>"


def test_a_jmrp_report_with_a_masked_recipient_counts_for_microsoft() -> None:
    found = complaint("jmrp.eml")
    assert found.redacted and found.event.provider == "microsoft"
    assert found.event.campaign == "nov-weekly"
    assert found.event.time == datetime(2026, 11, 12, 2, 0, tzinfo=UTC)


def test_a_jmrp_report_keeps_the_recipient_hotmail_puts_in_its_own_header() -> None:
    found = complaint("jmrp-with-recipient.eml")
    assert not found.redacted and found.event.recipient == "carl@hotmail.com"


def test_other_feedback_types_are_read_but_not_counted_and_other_mail_is_not_arf() -> None:
    raw = (
        (FIXTURES / "rfc5965.eml")
        .read_bytes()
        .replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")
    )
    assert read_arf(raw, now=NOW) == Ignored("arf:not-spam")
    assert read_arf(b"From: a@b.example\nSubject: hi\n\nhello\n", now=NOW) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ((b"Feedback-Type: abuse\n", b""), "feedback report has no Feedback-Type field"),
        (
            (b"Content-Type: message/feedback-report", b"Content-Type: text/plain"),
            "feedback report has no message/feedback-report part",
        ),
    ],
)
def test_a_broken_report_is_refused_naming_what_is_missing(
    change: tuple[bytes, bytes], message: str
) -> None:
    raw = (FIXTURES / "rfc5965.eml").read_bytes().replace(*change)
    with pytest.raises(ArfError, match=message):
        read_arf(raw, now=NOW)


def db_rows(url: str) -> tuple[dict[str, tuple[str, str, str]], dict[tuple[str, str], int]]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            events = {
                e.message_id or "": (e.recipient, e.provider, e.campaign)
                for e in session.scalars(select(Event).where(Event.source == "arf"))
            }
            days = {
                (d.day.isoformat(), d.provider): d.complaints
                for d in session.scalars(select(EventDay))
            }
    finally:
        engine.dispose()
    return events, days


def test_a_directory_and_an_mbox_import_once_and_again_as_duplicates(
    tmp_path: Path, database_url: str
) -> None:
    folder = tmp_path / "fbl"
    folder.mkdir()
    for name in ("rfc5965.eml", "yahoo-cfl.eml", "jmrp.eml"):
        shutil.copy(FIXTURES / name, folder / name)
    box = mailbox.mbox(tmp_path / "more.mbox")
    box.add((FIXTURES / "jmrp-with-recipient.eml").read_bytes())
    box.add(b"From: postmaster@yahoo.com\nSubject: welcome to the CFL\n\nhello\n")
    box.close()
    first = postwarden("import", "arf", str(folder), str(tmp_path / "more.mbox"),
                       "--format", "json", "--db", database_url)  # fmt: skip
    assert first.code == 0, first.stderr
    by_file = {Path(item["file"]).name: item for item in first.json()}
    assert by_file["yahoo-cfl.eml"]["redacted"] == 1
    assert (by_file["more.mbox"]["reports"], by_file["more.mbox"]["skipped"]) == (1, 1)
    assert all(item["status"] == "imported" for item in by_file.values())
    events, days = db_rows(database_url)
    assert events == {
        "<8787KJKJ3K4J3K4J3K4J3.mail@sender.example>": ("ann@gmail.com", "gmail", "spring-sale"),
        "<nov-weekly-0001@sender.example>": (REDACTED, "yahoo", "nov-weekly"),
        "<nov-weekly-0002@sender.example>": (REDACTED, "microsoft", "nov-weekly"),
        "<nov-weekly-0003@sender.example>": ("carl@hotmail.com", "microsoft", "nov-weekly"),
    }
    assert days == {
        ("2026-03-08", "gmail"): 1,
        ("2026-11-10", "yahoo"): 1,
        ("2026-11-12", "microsoft"): 2,
    }
    again = postwarden("import", "arf", str(folder), "--db", database_url)
    assert again.code == 0
    assert "rfc5965.eml: 1 reports, 0 complaints imported, 1 duplicates skipped" in again.stdout
    assert db_rows(database_url) == (events, days)


def test_a_broken_file_fails_alone_in_one_line_and_the_others_are_imported(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    bad = tmp_path / "bad.eml"
    bad.write_bytes((FIXTURES / "rfc5965.eml").read_bytes().replace(b"Feedback-Type: abuse\n", b""))
    result = postwarden(
        "import", "arf", str(bad), str(FIXTURES / "yahoo-cfl.eml"), "--format", "json", "--db", db
    )
    assert result.code == 3
    assert result.stderr.strip() == (
        f"postwarden: error: {bad}: feedback report has no Feedback-Type field"
    )
    statuses = [(Path(item["file"]).name, item["status"]) for item in result.json()]
    assert statuses == [("bad.eml", "error"), ("yahoo-cfl.eml", "imported")]
    assert len(db_rows(db)[0]) == 1


def test_a_complaint_only_the_feedback_loop_saw_makes_a_later_mailing_a_violation(
    tmp_path: Path, database_url: str
) -> None:
    contacts = tmp_path / "contacts.csv"
    with contacts.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "status", "optin_time", "confirm_time", "confirm_ip"])
        writer.writerow(["ann@gmail.com", "subscribed", "2026-01-01T00:00:00Z",
                         "2026-01-01T00:05:00Z", "192.0.2.9"])  # fmt: skip
    events = tmp_path / "events.csv"
    events.write_text(
        "event_id,type,bounce_type,recipient,time,campaign,message_id\n"
        "s1,sent,,ann@gmail.com,2026-03-20T10:00:00Z,april,m9\n"
    )
    assert postwarden("import", "contacts", str(contacts), "--db", database_url).code == 0
    assert postwarden("import", "events", str(events), "--db", database_url).code == 0
    before = postwarden("audit", "--as-of", "2026-03-25", "--format", "json", "--db", database_url)
    assert json.loads(before.stdout)["rules"]["mailed_after_complaint"]["count"] == 0
    assert (
        postwarden("import", "arf", str(FIXTURES / "rfc5965.eml"), "--db", database_url).code == 0
    )
    after = postwarden("audit", "--as-of", "2026-03-25", "--format", "json", "--db", database_url)
    rule = json.loads(after.stdout)["rules"]["mailed_after_complaint"]
    assert (rule["count"], rule["examples"]) == (1, ["ann@gmail.com"])


def test_the_pollers_handler_stores_one_message_in_the_callers_transaction(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pw.db'}")
    upgrade_database(engine)
    raw = (FIXTURES / "rfc5965.eml").read_bytes()
    with session_factory(engine)() as session:
        first = import_arf_message(session, raw, name="imap://fbl/INBOX;UID=7", now=NOW)
        second = import_arf_message(session, raw, name="imap://fbl/INBOX;UID=8", now=NOW)
        not_arf = import_arf_message(session, b"Subject: hi\n\nhello\n", name="uid 9", now=NOW)
        session.commit()
        activity = session.get(RecipientActivity, "ann@gmail.com")
    engine.dispose()
    assert (first.inserted, second.inserted, second.duplicates) == (1, 0, 1)
    assert (not_arf.reports, not_arf.skipped) == (0, 1)
    assert activity is not None and activity.last_complaint is not None


def test_hostile_header_values_are_cleaned_and_capped_before_the_store(
    tmp_path: Path, database_url: str
) -> None:
    raw = (
        (FIXTURES / "rfc5965.eml")
        .read_bytes()
        .replace(b"<Ann@Gmail.com>", b"<" + b"a" * 400 + b"@gmail.com>")
        .replace(b"X-Campaign: spring-sale", b"X-Campaign: spring\x00-sale" + b"x" * 400)
        .replace(
            b"<8787KJKJ3K4J3K4J3K4J3.mail@sender.example>", b"<" + b"m" * 2000 + b"@sender.example>"
        )
    )
    path = tmp_path / "hostile.eml"
    path.write_bytes(raw)
    result = postwarden("import", "arf", str(path), "--format", "json", "--db", database_url)
    assert result.code == 0, result.stderr
    assert result.json()[0]["redacted"] == 1  # an address longer than any real one is no address
    events, _days = db_rows(database_url)
    [(message_id, (recipient, provider, campaign))] = events.items()
    assert len(message_id) == 255 and recipient == REDACTED and provider == "gmail"
    assert campaign.startswith("spring-sale") and len(campaign) == 255 and "\x00" not in campaign


def test_a_complaint_the_esp_already_reported_is_not_counted_again(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    events = tmp_path / "events.csv"
    events.write_text(
        "event_id,type,bounce_type,recipient,time,campaign,message_id\n"
        "c1,complaint,,ann@gmail.com,2026-03-08T18:05:00Z,spring-sale,"
        "8787KJKJ3K4J3K4J3K4J3.mail@sender.example\n"
    )
    assert postwarden("import", "events", str(events), "--db", db).code == 0
    result = postwarden(
        "import", "arf", str(FIXTURES / "rfc5965.eml"), "--format", "json", "--db", db
    )
    assert result.code == 0, result.stderr
    item = result.json()[0]
    assert (item["inserted"], item["duplicates"], item["status"]) == (0, 1, "duplicate")
    assert db_rows(db) == ({}, {("2026-03-08", "gmail"): 1})
