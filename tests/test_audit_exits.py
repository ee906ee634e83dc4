"""The "mailed after …" rules count any mailing after an exit that still binds, not the
latest mailing against the latest exit: a dead address mailed again bounces again and is still
counted, and a re-subscription with a new opt-in releases the exits before it. On SQLite and
PostgreSQL, in the audit's JSON, its offenders list, the compliance PDF, after a migration, and
for --as-of."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Date, DateTime, Engine, bindparam, select, text

from store.contacts import RecipientActivity
from store.engine import alembic_config, session_factory, upgrade_database
from tests.conftest import postwarden
from tests.test_audit import audit, contact, write
from tests.test_reports import pdf_text

EXIT_RULES = ("mailed_after_unsubscribe", "mailed_after_hard_bounce", "mailed_after_complaint")
HEADER = "event_id,type,bounce_type,recipient,time,campaign,message_id\n"
OLD_OPTIN = {"optin_time": "2025-03-01T10:00:00+00:00", "confirm_time": "2025-03-01T10:05:00+00:00"}
REJOINED = {"optin_time": "2026-11-15T10:00:00+00:00", "confirm_time": "2026-11-15T10:05:00+00:00"}
MAILCHIMP_CLEANED = [
    "Email Address", "First Name", "Last Name", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME",
    "CONFIRM_IP", "CLEAN_TIME", "CLEAN_CAMPAIGN_TITLE", "LEID", "EUID",
]  # fmt: skip


def event_lines(recipient: str, *events: str) -> list[str]:
    """``"TYPE[/hard] 2026-11-23T09:00"`` -> CSV lines of one recipient's events."""
    lines = []
    for event in events:
        kind, at = event.split()
        kind, _, bounce = kind.partition("/")
        key = f"{recipient}-{kind}-{at}"
        lines.append(f"{key},{kind},{bounce},{recipient},{at}:00Z,c,{key}")
    return lines


def import_events(db: str, path: Path, lines: list[str]) -> None:
    path.write_text(HEADER + "\n".join(lines) + "\n")
    result = postwarden("import", "events", str(path), "--db", db)
    assert result.code == 0, result.stderr


def write_cleaned(path: Path, rows: list[tuple[str, dict[str, str], str]]) -> Path:
    """A Mailchimp "cleaned" export: (address, opt-in times, CLEAN_TIME) per member."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MAILCHIMP_CLEANED)
        for address, optin, cleaned in rows:
            writer.writerow([
                address, "A", "B", optin["optin_time"][:19].replace("T", " "), "203.0.113.9",
                optin["confirm_time"][:19].replace("T", " "), "203.0.113.9",
                cleaned, "Newsletter", "1", "e1",
            ])  # fmt: skip
    return path


# Per exit: the generic export's status for a contact that left that way, its events
# (the first exit, the mailing two weeks later, the exit again), and the events of a
# contact that re-subscribed between, was mailed, then left another way.
KINDS = {
    "mailed_after_hard_bounce": (
        "bounced",
        ("sent 2026-11-09T09:00", "bounce/hard 2026-11-09T09:01",
         "sent 2026-11-23T09:00", "bounce/hard 2026-11-23T09:01"),
        ("bounce/hard 2026-11-09T09:01", "sent 2026-11-20T09:00", "unsubscribe 2026-11-25T09:00"),
    ),
    "mailed_after_complaint": (
        "complained",
        ("sent 2026-11-09T09:00", "complaint 2026-11-09T12:00",
         "sent 2026-11-23T09:00", "complaint 2026-11-23T12:00"),
        ("complaint 2026-11-09T12:00", "sent 2026-11-20T09:00", "unsubscribe 2026-11-25T09:00"),
    ),
    "mailed_after_unsubscribe": (
        "unsubscribed",
        ("sent 2026-11-09T09:00", "unsubscribe 2026-11-09T12:00",
         "sent 2026-11-23T09:00", "unsubscribe 2026-11-23T12:00"),
        ("unsubscribe 2026-11-09T12:00", "sent 2026-11-20T09:00", "complaint 2026-11-25T09:00"),
    ),
}  # fmt: skip
LATER_STATUS = {"unsubscribe": "unsubscribed", "complaint": "complained"}


def seed_kind(db: str, tmp_path: Path, rule: str) -> None:
    """again@ (left, mailed, left again), rejoined@ (the same with a new opt-in between) and
    rejoined-left@ (left, new opt-in, mailed, left another way) for one exit rule."""
    status, repeated, rejoined_then_left = KINDS[rule]
    later = LATER_STATUS[rejoined_then_left[-1].split()[0]]
    rows = [
        contact("again@example.org", status=status, **OLD_OPTIN, last_mailed_at=""),
        contact("rejoined@example.org", status=status, **REJOINED, last_mailed_at=""),
        contact("rejoined-left@example.org", status=later, **REJOINED, last_mailed_at=""),
    ]
    path = write(tmp_path / "contacts.csv", rows)
    assert postwarden("import", "contacts", str(path), "--db", db).code == 0
    lines = [
        *event_lines("again@example.org", *repeated),
        *event_lines("rejoined@example.org", *repeated),
        *event_lines("rejoined-left@example.org", *rejoined_then_left),
    ]
    import_events(db, tmp_path / "events.csv", lines)


def seed_cleaned(db: str, tmp_path: Path) -> None:
    """Mailchimp cleaned members: again@ mailed (and bounced) after cleaning; rejoined@ opted
    in again after cleaning before the mailing."""
    cleaned = write_cleaned(
        tmp_path / "cleaned.csv",
        [
            ("again@example.org", OLD_OPTIN, "2026-11-09 09:01:00"),
            ("rejoined@example.org", REJOINED, "2026-11-09 09:01:00"),
        ],
    )
    assert postwarden("import", "contacts", str(cleaned), "--db", db).code == 0
    mailed_again = ("sent 2026-11-23T09:00", "bounce/hard 2026-11-23T09:01")
    lines = [
        *event_lines("again@example.org", *mailed_again),
        *event_lines("rejoined@example.org", *mailed_again),
    ]
    import_events(db, tmp_path / "events.csv", lines)


def flagged(report: dict) -> dict[str, list[str]]:
    return {rule: report["rules"][rule]["examples"] for rule in EXIT_RULES}


@pytest.mark.parametrize("rule", list(KINDS))
def test_a_repeated_exit_is_counted_unless_a_new_opt_in_came_between(
    tmp_path: Path, database_url: str, rule: str
) -> None:
    seed_kind(database_url, tmp_path, rule)
    _, report = audit(database_url, "--no-save")
    assert flagged(report) == {
        name: ["again@example.org"] if name == rule else [] for name in EXIT_RULES
    }
    # The offenders list says the same, by the same SQL.
    listed = postwarden(
        "audit", "--as-of", "2026-11-30", "--rule", rule, "--list", "--db", database_url
    )
    rows = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert [row["address"] for row in rows] == ["again@example.org"]


def test_mailchimp_cleaned_members_mailed_again_are_counted(
    tmp_path: Path, database_url: str
) -> None:
    seed_cleaned(database_url, tmp_path)
    _, report = audit(database_url, "--no-save")
    assert flagged(report) == {
        "mailed_after_unsubscribe": [],
        "mailed_after_hard_bounce": ["again@example.org"],
        "mailed_after_complaint": [],
    }


def test_the_first_binding_exit_is_looked_up_when_a_rejoin_falls_between_exits(
    tmp_path: Path, database_url: str
) -> None:
    # Exits before and after the new opt-in (15 Nov): the rollup's first and latest exit
    # do not say which exit first bound, so the events are asked.
    rows = [
        contact(f"{name}@example.org", status=status, **REJOINED, last_mailed_at="")
        for name, status in (
            ("c-yes", "complained"),
            ("c-no", "complained"),
            ("b-yes", "bounced"),
            ("b-no", "bounced"),
        )
    ]
    assert (
        postwarden(
            "import", "contacts", str(write(tmp_path / "c.csv", rows)), "--db", database_url
        ).code
        == 0
    )
    lines = [
        *event_lines("c-yes@example.org", "complaint 2026-11-01T09:00",
                     "complaint 2026-11-16T09:00", "sent 2026-11-18T09:00",
                     "complaint 2026-11-25T09:00"),
        *event_lines("c-no@example.org", "complaint 2026-11-01T09:00", "sent 2026-11-16T09:00",
                     "complaint 2026-11-18T09:00", "complaint 2026-11-25T09:00"),
        *event_lines("b-yes@example.org", "bounce/hard 2026-11-01T09:00",
                     "bounce/hard 2026-11-16T09:00", "bounce/hard 2026-11-25T09:00"),
        *event_lines("b-no@example.org", "bounce/hard 2026-11-01T09:00",
                     "bounce/hard 2026-11-25T09:00"),
    ]  # fmt: skip
    import_events(database_url, tmp_path / "e.csv", lines)
    _, report = audit(database_url, "--no-save")
    assert flagged(report)["mailed_after_complaint"] == ["c-yes@example.org"]
    assert flagged(report)["mailed_after_hard_bounce"] == ["b-yes@example.org"]
    # The same from the events alone (an as-of audit with later events).
    import_events(
        database_url,
        tmp_path / "later.csv",
        event_lines("other@example.org", "sent 2026-12-03T09:00"),
    )
    _, past = audit(database_url, "--no-save")
    assert flagged(past) == flagged(report)


def test_as_of_stays_the_same_whatever_arrives_later(tmp_path: Path, database_url: str) -> None:
    rows = [contact("dead@example.org", status="bounced", **OLD_OPTIN, last_mailed_at="")]
    assert (
        postwarden(
            "import", "contacts", str(write(tmp_path / "c.csv", rows)), "--db", database_url
        ).code
        == 0
    )
    import_events(
        database_url,
        tmp_path / "e1.csv",
        event_lines(
            "dead@example.org", "bounce/hard 2026-11-09T09:01", "bounce/hard 2026-11-23T09:01"
        ),
    )
    _, before = audit(database_url, "--no-save")
    assert flagged(before)["mailed_after_hard_bounce"] == ["dead@example.org"]
    # Later: mailed and bounced again, then a new opt-in (3 Dec) re-imported with the contact.
    import_events(
        database_url,
        tmp_path / "e2.csv",
        event_lines("dead@example.org", "bounce/hard 2026-12-02T09:01", "sent 2026-12-04T09:00"),
    )
    rejoined = {
        "optin_time": "2026-12-03T10:00:00+00:00",
        "confirm_time": "2026-12-03T10:05:00+00:00",
    }
    rows = [contact("dead@example.org", status="subscribed", **rejoined, last_mailed_at="")]
    assert (
        postwarden(
            "import", "contacts", str(write(tmp_path / "c2.csv", rows)), "--db", database_url
        ).code
        == 0
    )
    _, same = audit(database_url, "--no-save")
    assert flagged(same) == flagged(before)
    # After the new opt-in, the exits before it no longer bind.
    _, after = audit(database_url, "--no-save", as_of=date(2026, 12, 5))
    assert flagged(after)["mailed_after_hard_bounce"] == []
    _, between = audit(database_url, "--no-save", as_of=date(2026, 12, 2))
    assert flagged(between)["mailed_after_hard_bounce"] == ["dead@example.org"]


def test_an_earlier_exit_imported_later_moves_the_first_exit_back(
    tmp_path: Path, database_url: str
) -> None:
    rows = [contact("late@example.org", status="bounced", **OLD_OPTIN, last_mailed_at="")]
    assert (
        postwarden(
            "import", "contacts", str(write(tmp_path / "c.csv", rows)), "--db", database_url
        ).code
        == 0
    )
    newer = event_lines("late@example.org", "bounce/hard 2026-11-23T09:01")
    import_events(database_url, tmp_path / "newer.csv", newer)
    _, first = audit(database_url, "--no-save")
    assert flagged(first)["mailed_after_hard_bounce"] == []
    # The ESP's older file, imported afterwards: the first bounce was 9 November.
    older = event_lines("late@example.org", "bounce/hard 2026-11-09T09:01")
    import_events(database_url, tmp_path / "older.csv", older)
    _, then = audit(database_url, "--no-save")
    assert flagged(then)["mailed_after_hard_bounce"] == ["late@example.org"]


def test_the_compliance_pdf_counts_repeated_exits(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    for rule in KINDS:
        folder = tmp_path / rule
        folder.mkdir()
        seed_kind(db, folder, rule)
    _, report = audit(db, "--no-save")
    assert {rule: report["rules"][rule]["count"] for rule in EXIT_RULES} == dict.fromkeys(
        EXIT_RULES, 1
    )
    output = tmp_path / "report.pdf"
    result = postwarden("report", "compliance", "--from", "2026-11-01", "--to", "2026-11-30",
                        "-o", str(output), "--db", db)  # fmt: skip
    assert result.code == 0, result.stderr
    text = "\n".join(pdf_text(output))
    for rule in EXIT_RULES:
        assert f"{rule} fail 1 FAIL" in text
    offenders = (tmp_path / "report-offenders.csv").read_text()
    for rule in EXIT_RULES:
        assert offenders.count(f"{rule},default,a***@example.org") == 1


def test_the_migration_fills_first_exits_from_the_events(engine: Engine) -> None:
    command.upgrade(alembic_config(engine), "0012")
    # What an install at 0012 holds: events and the latest-only rollup they made.
    times = [datetime(2026, 11, day, 9, tzinfo=UTC) for day in (9, 23, 10, 11)]
    moment = DateTime(timezone=True)
    insert_event = text(
        "INSERT INTO events (source, event_id, type, bounce_type, recipient, provider, time,"
        " day, campaign, machine) VALUES ('csv', :id, :type, :bounce, :to, 'other', :time,"
        " :day, '', false)"
    ).bindparams(bindparam("time", type_=moment), bindparam("day", type_=Date()))
    insert_activity = text(
        "INSERT INTO recipient_activity (address, last_sent, last_hard_bounce, last_complaint,"
        " last_unsubscribe) VALUES (:address, :sent, :bounce, :complaint, :unsubscribe)"
    ).bindparams(
        *(bindparam(name, type_=moment) for name in ("sent", "bounce", "complaint", "unsubscribe"))
    )
    with engine.begin() as connection:
        connection.execute(insert_event, [
            {"id": str(n), "type": kind, "bounce": bounce, "to": to, "time": at, "day": at.date()}
            for n, (kind, bounce, to, at) in enumerate([
                ("bounce", "hard", "a@example.org", times[0]),
                ("bounce", "hard", "a@example.org", times[1]),
                ("complaint", None, "a@example.org", times[2]),
                ("unsubscribe", None, "b@example.org", times[3]),
            ])
        ])  # fmt: skip
        connection.execute(insert_activity, [
            {"address": "a@example.org", "sent": times[1], "bounce": times[1],
             "complaint": times[2], "unsubscribe": None},
            {"address": "b@example.org", "sent": None, "bounce": None, "complaint": None,
             "unsubscribe": times[3]},
        ])  # fmt: skip
    upgrade_database(engine)
    with session_factory(engine)() as session:
        rows = {row.address: row for row in session.scalars(select(RecipientActivity))}

    def utc(moment: datetime | None) -> datetime | None:
        # SQLite gives the stored UTC times back without their zone.
        return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)

    assert set(rows) == {"a@example.org", "b@example.org"}
    assert utc(rows["a@example.org"].first_hard_bounce) == times[0]
    assert utc(rows["a@example.org"].first_complaint) == times[2]
    assert rows["a@example.org"].first_unsubscribe is None
    assert utc(rows["b@example.org"].first_unsubscribe) == times[3]
