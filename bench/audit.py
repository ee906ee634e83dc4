"""Benchmark: the list audit and the contact import, against plain SQL, in one run.

Generates CONTACTS contacts as a Mailchimp "subscribed" audience export
(its 21 columns) plus some unsubscribed ones, and EVENTS delivery events to
them, then on one SQLite file:

- import: ``postwarden import contacts`` of the Mailchimp file against (a)
  a plain ``sqlite3`` ``executemany`` of the same CSV rows into a bare
  table;
- audit: Postwarden's full audit (all ten rules in one pass, examples of
  each, hygiene) against the same rules as hand-written SQL run directly:
  (b) ten ``COUNT`` queries over the same tables Postwarden keeps
  (contacts and the per-recipient activity maintained at event import),
  and (c) one query that computes the activity from the raw events, as
  one would without that table. The benchmark stops if the counts differ.
- memory: peak RSS of ``postwarden audit`` run as its own process.

    python -m bench.audit                              # 1,000,000 contacts, 5,000,000 events
    python -m bench.audit --contacts 100000 --events 500000
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.measure import measured
from compliance.audit.list_audit import run_audit
from compliance.contacts.importer import import_contacts
from compliance.events.importer import import_file
from store.engine import open_database, session_factory

AS_OF = date(2026, 11, 30)
MAILCHIMP = [
    "Email Address", "First Name", "Last Name", "Address", "Phone Number", "Birthday",
    "MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP", "GMTOFF",
    "DSTOFF", "TIMEZONE", "CC", "REGION", "LAST_CHANGED", "LEID", "EUID", "NOTES", "TAGS",
]  # fmt: skip
DOMAINS = ["gmail.com", "yahoo.com", "hotmail.com", "example.org", "example.net", "gmial.com"]


def address(n: int) -> str:
    return f"u{n}@{DOMAINS[n % len(DOMAINS)]}"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def write_contacts(path: Path, count: int) -> None:
    """A Mailchimp subscribed export: mostly double opt-in, some single, some without IP."""
    generator = random.Random(11)
    start = datetime(2021, 1, 1, tzinfo=UTC)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MAILCHIMP)
        for n in range(count):
            optin = start + timedelta(seconds=generator.randrange(5 * 365 * 86400))
            fate = generator.random()
            confirm = "" if fate < 0.05 else stamp(optin + timedelta(minutes=3))
            confirm_ip = "" if fate < 0.08 else "198.51.100.7"
            writer.writerow([
                address(n), "First", "Last", "", "", "", "2", stamp(optin), "203.0.113.9",
                confirm, confirm_ip, "0", "0", "", "DE", "", stamp(optin), str(n), f"e{n}", "",
                "",
            ])  # fmt: skip


def write_events(path: Path, contacts: int, count: int) -> None:
    """Sends, deliveries, bounces, complaints, unsubscribes and engagement over 400 days."""
    generator = random.Random(13)
    start = datetime(2025, 10, 27, tzinfo=UTC)
    kinds = [("sent", ""), ("delivered", ""), ("open", ""), ("click", ""),
             ("bounce", "hard"), ("unsubscribe", ""), ("complaint", "")]  # fmt: skip
    weights = [40, 38, 14, 5, 1.5, 1.2, 0.3]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["event_id", "type", "bounce_type", "recipient", "time", "campaign", "message_id"]
        )
        for n in range(count):
            kind, bounce = generator.choices(kinds, weights)[0]
            at = start + timedelta(seconds=generator.randrange(400 * 86400))
            writer.writerow([f"e{n}", kind, bounce, address(generator.randrange(contacts)),
                             at.strftime("%Y-%m-%dT%H:%M:%SZ"), f"c{n % 30}", f"m{n}"])  # fmt: skip


def plain_insert(csv_path: Path, db_path: Path) -> float:
    """(a): the export's rows into a bare table with one executemany."""
    started = time.perf_counter()
    connection = sqlite3.connect(db_path)
    columns = ", ".join(f"c{i} TEXT" for i in range(len(MAILCHIMP)))
    connection.execute(f"CREATE TABLE raw ({columns})")
    with csv_path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        marks = ", ".join("?" * len(MAILCHIMP))
        connection.executemany(f"INSERT INTO raw VALUES ({marks})", reader)
    connection.commit()
    connection.close()
    return time.perf_counter() - started


# The rules as one would write them by hand (thresholds as of 2026-11-30).
# ACT is the per-recipient activity: Postwarden's table, or computed from events.
RULES_SQL = {
    "consent_missing": "c.status='subscribed' AND (c.legal_basis IS NULL OR "
    "c.legal_basis='consent') AND c.optin_time IS NULL AND NOT c.opted_in AND NOT c.confirmed",
    "optin_unconfirmed": "c.status='subscribed' AND (c.legal_basis IS NULL OR "
    "c.legal_basis='consent') AND (c.optin_time IS NOT NULL OR c.opted_in OR c.confirmed) "
    "AND NOT c.confirmed",
    "optin_evidence_incomplete": "c.status='subscribed' AND c.confirmed AND (c.confirm_time "
    "IS NULL OR c.confirm_ip IS NULL OR c.confirm_time < c.optin_time)",
    "consent_stale": "c.status='subscribed' AND (c.legal_basis IS NULL OR "
    "c.legal_basis='consent') AND (c.optin_time IS NOT NULL OR c.opted_in OR c.confirmed) AND "
    "max(coalesce(a.last_sent, ''), coalesce(c.last_mailed_at, ''), coalesce(c.optin_time, ''), "
    "coalesce(c.confirm_time, ''), coalesce(c.subscribed_at, '')) BETWEEN '0' AND '2025-06-08'",
    "dormant": "c.status='subscribed' AND coalesce(max(coalesce(a.last_sent, ''), "
    "coalesce(c.last_mailed_at, '')), '') < '2026-09-01' AND coalesce(nullif(max(coalesce("
    "a.last_sent, ''), coalesce(c.last_mailed_at, '')), ''), c.confirm_time, c.optin_time, "
    "c.subscribed_at) < '2026-09-01'",
    "inactive": "c.status='subscribed' AND coalesce(nullif(max(coalesce(a.last_engaged, ''), "
    "coalesce(c.last_engaged_at, '')), ''), c.confirm_time, c.optin_time, c.subscribed_at) "
    "< '2025-11-30'",
    "mailed_after_unsubscribe": "__EXIT__",
    "mailed_after_hard_bounce": "__EXIT__",
    "mailed_after_complaint": "__EXIT__",
    "retention_exceeded": "c.status <> 'subscribed' AND coalesce(nullif(max(coalesce("
    "a.last_unsubscribe, ''), coalesce(c.unsubscribed_at, ''), coalesce(a.last_hard_bounce, ''), "
    "coalesce(c.bounced_at, ''), coalesce(a.last_complaint, ''), coalesce(c.complained_at, '')"
    "), ''), c.first_seen_at) < '2026-10-31'",
}
# "Mailed after …": any mailing (before the end of the as-of day) after an exit at or
# after the contact's latest (re)join, past the grace period; the exits are looked up in
# the events (Postwarden's partial index of exits serves the lookup, the peer uses it too).
JOINED = "coalesce(c.confirm_time, c.optin_time, c.subscribed_at)"
REJOINED = f"(CASE WHEN {JOINED} < '2026-12-01' THEN {JOINED} END)"
MAILED = (
    "max(coalesce(a.last_sent, ''), coalesce(CASE WHEN c.last_mailed_at < '2026-12-01' "
    "THEN c.last_mailed_at END, ''))"
)


def mailed_after(exported: str, latest: str, kind: str, grace_days: int) -> str:
    def after(moment: str) -> str:
        if grace_days:
            return f"julianday({MAILED}) - julianday({moment}) > {grace_days}"
        return f"{MAILED} > {moment}"

    return (
        f"(c.{exported} < '2026-12-01' AND ({REJOINED} IS NULL OR c.{exported} >= {REJOINED}) "
        f"AND {after('c.' + exported)}) OR (a.{latest} IS NOT NULL AND EXISTS (SELECT 1 FROM "
        "events WHERE events.recipient = c.address AND events.type IN ('bounce', "
        f"'complaint', 'unsubscribe') AND {kind} AND events.time >= coalesce({REJOINED}, '') "
        f"AND events.time < '2026-12-01' AND {after('events.time')}))"
    )


HARD_BOUNCE = "events.type = 'bounce' AND events.bounce_type = 'hard'"
RULES_SQL.update(
    {
        "mailed_after_unsubscribe": mailed_after(
            "unsubscribed_at", "last_unsubscribe", "events.type = 'unsubscribe'", 2
        ),
        "mailed_after_hard_bounce": mailed_after("bounced_at", "last_hard_bounce", HARD_BOUNCE, 0),
        "mailed_after_complaint": mailed_after(
            "complained_at", "last_complaint", "events.type = 'complaint'", 0
        ),
    }
)
EVENT_ACTIVITY = """(SELECT recipient AS address,
    max(CASE WHEN type IN ('sent','delivered','bounce') THEN time END) AS last_sent,
    max(CASE WHEN type IN ('open','click') AND NOT machine THEN time END) AS last_engaged,
    max(CASE WHEN type = 'unsubscribe' THEN time END) AS last_unsubscribe,
    max(CASE WHEN type = 'bounce' AND bounce_type = 'hard' THEN time END) AS last_hard_bounce,
    max(CASE WHEN type = 'complaint' THEN time END) AS last_complaint
    FROM events GROUP BY recipient)"""


def plain_sql(db_path: Path, activity: str, one_query: bool) -> tuple[float, dict[str, int]]:
    connection = sqlite3.connect(db_path)
    join = f"FROM contacts c LEFT JOIN {activity} a ON a.address = c.address"
    started = time.perf_counter()
    if one_query:
        sums = ", ".join(f"sum(CASE WHEN {sql} THEN 1 ELSE 0 END)" for sql in RULES_SQL.values())
        row = connection.execute(f"SELECT {sums} {join}").fetchone()
        counts = dict(zip(RULES_SQL, (int(v or 0) for v in row), strict=True))
    else:
        counts = {
            name: connection.execute(f"SELECT count(*) {join} WHERE {sql}").fetchone()[0]
            for name, sql in RULES_SQL.items()
        }
    seconds = time.perf_counter() - started
    connection.close()
    return seconds, counts


def audit_rss(url: str) -> float:
    """Peak RSS (MB) of ``postwarden audit`` as its own process."""
    script = Path(sys.executable).with_name("postwarden")
    command = [str(script), "audit", "--as-of", AS_OF.isoformat(), "--no-save", "--db", url]
    return measured(command, allowed_exit_codes=(0, 1, 2))[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pw-audit-") as tmp:
        directory = Path(tmp)
        contacts_csv, events_csv = directory / "subscribed.csv", directory / "events.csv"
        write_contacts(contacts_csv, args.contacts)
        write_events(events_csv, args.contacts, args.events)
        db_path = directory / "postwarden.db"
        url = f"sqlite:///{db_path}"
        engine = open_database(url)
        sessions = session_factory(engine)
        plain = plain_insert(contacts_csv, directory / "plain.db")
        with sessions() as session:
            started = time.perf_counter()
            import_contacts(session, contacts_csv, now=datetime.now(UTC))
            session.commit()
            imported = time.perf_counter() - started
        with sessions() as session:
            started = time.perf_counter()
            import_file(session, events_csv, source="csv", now=datetime.now(UTC))
            session.commit()
            events_seconds = time.perf_counter() - started
        print(
            f"contacts {args.contacts:,}, events {args.events:,} "
            f"(events imported in {events_seconds:.1f} s)"
        )
        print(
            f"import : postwarden {imported:6.2f} s  (a) plain executemany {plain:6.2f} s  "
            f"ratio {imported / plain:.2f}x"
        )
        with sessions() as session:
            run_audit(session, AS_OF)  # warm the page cache
            started = time.perf_counter()
            report = run_audit(session, AS_OF)
            ours = time.perf_counter() - started
        engine.dispose()
        counts = {name: rule.count for name, rule in report.rules.items()}
        separate, by_table = plain_sql(db_path, "recipient_activity", one_query=False)
        from_events, by_events = plain_sql(db_path, EVENT_ACTIVITY, one_query=True)
        if not counts == by_table == by_events:
            raise SystemExit(f"counts disagree:\n{counts}\n{by_table}\n{by_events}")
        print(
            f"audit  : postwarden {ours:6.2f} s  (b) 10 COUNT queries {separate:6.2f} s  "
            f"ratio {ours / separate:.2f}x"
        )
        print(
            f"         (c) one query over raw events {from_events:6.2f} s  "
            f"ratio {ours / from_events:.2f}x"
        )
        print(f"memory : postwarden audit peak RSS {audit_rss(url):.0f} MB")
        print("counts :", counts)


if __name__ == "__main__":
    main()
