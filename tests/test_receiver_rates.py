"""Rates judged on the receivers' own figures: Gmail's spam rate, SNDS's complaint rate, ARF."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

from store.engine import make_engine, session_factory, upgrade_database
from store.receivers import GmailDay, SndsDay
from tests.conftest import postwarden

AS_OF = date(2026, 11, 30)
FIXTURES = Path(__file__).parent / "fixtures" / "arf"


def traffic(tmp_path: Path, database_url: str) -> None:
    """500 delivered to Gmail and to Outlook, no complaint: the ESP-based rates pass."""
    path = tmp_path / "events.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["event_id", "type", "bounce_type", "recipient", "time", "campaign", "message_id"]
        )
        for n in range(500):
            for domain in ("gmail.com", "outlook.com"):
                writer.writerow([f"d{n}{domain}", "delivered", "", f"r{n}@{domain}",
                                 "2026-11-20T10:00:00Z", "nov", f"m{n}"])  # fmt: skip
    assert postwarden("import", "events", str(path), "--db", database_url).code == 0


def store(database_url: str, *rows: object) -> None:
    engine = make_engine(database_url)
    upgrade_database(engine)
    with session_factory(engine)() as session:
        session.add_all(rows)
        session.commit()
    engine.dispose()


def rates(database_url: str) -> dict:
    result = postwarden(
        "rates", "--as-of", AS_OF.isoformat(), "--format", "json", "--db", database_url
    )
    return result.json()


def test_gmail_is_judged_on_its_own_spam_rate_where_the_esp_sees_no_complaint(
    tmp_path: Path, database_url: str
) -> None:
    traffic(tmp_path, database_url)
    before = rates(database_url)["profiles"]["gmail"]
    assert before["status"] == "pass" and "spam_rate" not in before["metrics"]
    assert "GMAIL_ESP_UNDERCOUNTS" in {f["code"] for f in before["findings"]}
    now = datetime(2026, 11, 30, tzinfo=UTC)
    store(
        database_url,
        GmailDay(
            domain="a.example", day=date(2026, 11, 28), spam_rate=0.0009, metrics={}, fetched_at=now
        ),
        GmailDay(
            domain="a.example", day=date(2026, 11, 29), spam_rate=0.0035, metrics={}, fetched_at=now
        ),
        GmailDay(
            domain="b.example", day=date(2026, 11, 29), spam_rate=0.0002, metrics={}, fetched_at=now
        ),
    )
    report = rates(database_url)
    gmail = report["profiles"]["gmail"]
    assert gmail["status"] == "fail"
    assert gmail["metrics"]["spam_rate"] == {
        "value": 0.0035, "warn": 0.001, "fail": 0.003, "status": "fail",
        "source": "gmail_postmaster", "as_of": "2026-11-29", "domain": "a.example",
    }  # fmt: skip
    assert gmail["metrics"]["complaint_rate"]["source"] == "esp_events"
    assert gmail["metrics"]["complaint_rate"]["as_of"] == "2026-11-20"
    assert report["sources"]["gmail_postmaster"] == {"as_of": "2026-11-29"}
    table = postwarden("rates", "--as-of", "2026-11-30", "--profile", "gmail", "--db", database_url)
    assert table.code == 2
    assert (
        "Gmail spam rate 0.35% — warn line 0.10% — fail line 0.30% — FAIL, 500 delivered "
        "(Gmail Postmaster Tools, as of 2026-11-29)" in table.stdout
    )


def test_microsoft_shows_sndss_complaint_rate_beside_the_esp_based_one(
    tmp_path: Path, database_url: str
) -> None:
    traffic(tmp_path, database_url)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    rows = [
        SndsDay(ip=ip, day=date(2026, 11, 29), filter_result="GREEN", complaint_rate=rate,
                complaint_text=text, message_recipients=recipients, trap_hits=0, fetched_at=now)
        for ip, rate, text, recipients in (
            ("192.0.2.10", 0.004, "0.4%", 300), ("192.0.2.11", 0.001, "< 0.1%", 100)
        )
    ]  # fmt: skip
    store(database_url, *rows)
    microsoft = rates(database_url)["profiles"]["microsoft"]
    assert microsoft["metrics"]["complaint_rate"]["value"] == 0.0
    snds = microsoft["metrics"]["snds_complaint_rate"]
    assert (snds["value"], snds["source"], snds["as_of"]) == (0.00325, "snds", "2026-11-29")
    assert snds["status"] == "fail" and microsoft["status"] == "fail"


def test_arf_complaints_count_in_the_rates_and_are_named_as_a_source(
    tmp_path: Path, database_url: str
) -> None:
    traffic(tmp_path, database_url)
    assert (
        postwarden(
            "import", "arf", str(FIXTURES / "jmrp-with-recipient.eml"), "--db", database_url
        ).code
        == 0
    )
    report = postwarden(
        "rates", "--as-of", "2026-11-30", "--format", "json", "--db", database_url
    ).json()
    assert report["sources"]["arf"] == {"complaints": 1}
    assert report["providers"]["microsoft"]["complaints"] == 1
