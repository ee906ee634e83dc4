"""Importing events: formats, exact errors, deduplication, all or nothing."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from compliance.events.formats.generic_csv import Layout, row_values
from store.engine import session_factory, upgrade_database
from store.events import Event, EventDay
from tests.conftest import postwarden

HEADER = "event_id,type,bounce_type,recipient,time,campaign,message_id\n"
GOOD = (
    HEADER
    + "e1,sent,,Ann@Gmail.com,2026-11-01T10:00:00Z,nov,m1\n"
    + "e2,delivered,,ann@gmail.com,2026-11-01T10:00:05+00:00,nov,m1\n"
    + "e3,bounce,hard,bob@yahoo.co.uk,2026-11-01T11:00:00+01:00,nov,m2\n"
    + ",complaint,,ann@gmail.com,2026-11-02T08:00:00Z,,m1\n"
)


def count(engine: Engine) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(Event)) or 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (HEADER + "x,bouncd,,a@b.example,2026-11-01T00:00:00Z,,\n",
         "events.csv:2: type 'bouncd' is not one of sent, delivered, bounce, complaint, "
         "unsubscribe, open, click"),
        (HEADER + "x,bounce,,a@b.example,2026-11-01T00:00:00Z,,\n",
         "events.csv:2: bounce_type '' is not one of hard, soft"),
        (HEADER + "x,open,hard,a@b.example,2026-11-01T00:00:00Z,,\n",
         "events.csv:2: bounce_type 'hard' given for a open event"),
        (HEADER + "x,sent,,not-an-address,2026-11-01T00:00:00Z,,\n",
         "events.csv:2: recipient 'not-an-address' is not an e-mail address"),
        (HEADER + "x,sent,,a@b.example,2026-11-01 10:00,,\n",
         "events.csv:2: time '2026-11-01 10:00' has no time zone"),
        (HEADER + "x,sent,,a@b.example,yesterday,,\n",
         "events.csv:2: time 'yesterday' is not an ISO 8601 time"),
        (HEADER + "x,sent,,a@b.example,2026-11-01T24:00:00Z,,\n",
         "events.csv:2: time '2026-11-01T24:00:00Z' is not an ISO 8601 time"),
        (HEADER + "x,sent,,a@b.example,2026-02-30T10:00:00Z,,\n",
         "events.csv:2: time '2026-02-30T10:00:00Z' is not a real date and time"),
        (HEADER + "x,sent,,a@b.example,2026-02-30T10:00:00+01:00,,\n",
         "events.csv:2: time '2026-02-30T10:00:00+01:00' is not a real date and time"),
        ("id,type,recipient,time\nx,sent,a@b.example,2026-11-01T00:00:00Z\n",
         "events.csv:1: header has unknown column(s) id; "
         "expected event_id,type,bounce_type,recipient,time,campaign,message_id"),
        ("event_id,type,time\nx,sent,2026-11-01T00:00:00Z\n",
         "events.csv:1: header lacks the column(s) recipient"),
        (HEADER + "x,sent,,a@b.example,2026-11-01T00:00:00Z,,m,extra\n",
         "events.csv:2: more fields than the header"),
    ],
)  # fmt: skip
def test_bad_records_are_refused_in_one_line_naming_the_place(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(body)
    result = postwarden("import", "events", str(path), "--db", f"sqlite:///{tmp_path / 'pw.db'}")
    assert result.code == 3
    assert result.stderr.strip() == f"postwarden: error: {message}"


@pytest.mark.parametrize(
    ("time", "stamp", "day"),
    [
        ("2026-11-01T10:00:00Z", "2026-11-01 10:00:00.000000", "2026-11-01"),
        ("2026-11-01 10:00+00:00", "2026-11-01 10:00:00.000000", "2026-11-01"),
        ("2026-11-01T10:00:00.25Z", "2026-11-01 10:00:00.250000", "2026-11-01"),
        ("2026-11-01T23:30:00-02:00", "2026-11-02 01:30:00.000000", "2026-11-02"),
        ("2026-11-01T00:30:00+01:00", "2026-10-31 23:30:00.000000", "2026-10-31"),
    ],
)
def test_row_values_store_times_in_utc_and_count_them_on_the_utc_day(
    time: str, stamp: str, day: str
) -> None:
    layout = Layout.from_header(HEADER.strip().split(","))
    values = row_values(["e1", "Sent", "", " A@Example.org", time, "nov", "m1"], layout)
    assert values == (
        "e1", "sent", None, "a@example.org", "other", stamp, day, "nov", "m1", None, None, False,
    )  # fmt: skip


def test_an_error_late_in_a_file_leaves_nothing_behind(tmp_path: Path, engine: Engine) -> None:
    path = tmp_path / "events.csv"
    rows = "".join(f"e{n},sent,,r{n}@example.org,2026-11-01T00:00:00Z,,\n" for n in range(3000))
    path.write_text(HEADER + rows + "bad,sent,,nobody,2026-11-01T00:00:00Z,,\n")
    result = postwarden("import", "events", str(path), "--db", str(engine.url))
    assert result.code == 3 and "events.csv:3002: recipient 'nobody'" in result.stderr
    upgrade_database(engine)
    assert count(engine) == 0


def test_a_gzipped_file_imports_and_a_second_import_adds_nothing(
    tmp_path: Path, engine: Engine, database_url: str
) -> None:
    path = tmp_path / "events.csv.gz"
    path.write_bytes(gzip.compress(GOOD.encode()))
    first = postwarden("import", "events", str(path), "--db", database_url)
    assert first.stdout.strip() == (
        "events.csv.gz: 4 records, 4 events imported, 0 duplicates skipped"
    )
    second = postwarden("import", "events", str(path), "--db", database_url)
    assert "0 events imported, 4 duplicates skipped" in second.stdout
    with session_factory(engine)() as session:
        events = {e.event_id: e for e in session.scalars(select(Event))}
        days = {
            (d.day.isoformat(), d.provider): (d.sent, d.delivered, d.bounced_hard, d.complaints)
            for d in session.scalars(select(EventDay))
        }
    assert events["e1"].recipient == "ann@gmail.com"
    assert events["e3"].provider == "yahoo" and events["e3"].time.hour == 10  # stored in UTC
    assert days == {
        ("2026-11-01", "gmail"): (1, 1, 0, 0),
        ("2026-11-01", "yahoo"): (0, 0, 1, 0),
        ("2026-11-02", "gmail"): (0, 0, 0, 1),
    }


def test_a_missing_event_id_is_derived_so_reimports_still_deduplicate(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    path = tmp_path / "no-ids.csv"
    path.write_text(HEADER + ",open,,a@example.org,2026-11-01T00:00:00Z,nov,m1\n")
    assert "1 events imported" in postwarden("import", "events", str(path), "--db", db).stdout
    assert "1 duplicates skipped" in postwarden("import", "events", str(path), "--db", db).stdout


def test_a_missing_file_is_a_one_line_error(tmp_path: Path) -> None:
    result = postwarden("import", "events", str(tmp_path / "nope.csv"), "--db", "sqlite://")
    assert result.code == 3 and "nope.csv: no such file" in result.stderr
