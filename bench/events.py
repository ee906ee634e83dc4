"""Benchmark: importing events and computing rates, against plain SQL, in one run.

Generates EVENTS delivery events as Postwarden's CSV (sends, deliveries,
bounces, complaints, opens, clicks over 60 days, 20 campaigns, all four
mailbox providers), then on SQLite files:

- import: Postwarden's importer (parse, validate, deduplicate, keep the
  daily aggregates) against (a) a plain ``sqlite3`` ``executemany`` of the
  same CSV rows into a table without constraints, both reading the CSV;
- rates: Postwarden's 30-day ``rates`` report (every profile, per provider,
  daily series and trends) against (b) the same sums by one SQL ``COUNT …
  GROUP BY`` over the raw events of the window.

Run at several sizes to see that rates do not grow with the event count:

    python -m bench.events                        # 1,000,000 events
    python -m bench.events --events 100000 1000000
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from compliance.events.importer import import_file
from compliance.rates.limit_profiles import load_profiles
from compliance.rates.report import rates_report
from store.engine import open_database, session_factory

AS_OF = date(2026, 11, 30)
DOMAINS = ["gmail.com", "yahoo.com", "hotmail.com", "example.org", "example.net", "aol.com"]
HEADER = ["event_id", "type", "bounce_type", "recipient", "time", "campaign", "message_id"]


def write_events(path: Path, count: int) -> None:
    """``count`` events: each message sent, then delivered or bounced, some engagement."""
    generator = random.Random(7)
    start = datetime(2026, 10, 2, tzinfo=UTC)
    written = 0
    message = 0
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        while written < count:
            message += 1
            recipient = f"u{generator.randrange(200_000)}@{generator.choice(DOMAINS)}"
            at = start + timedelta(seconds=generator.randrange(60 * 86400))
            campaign = f"c{message % 20}"
            mid = f"m{message}"
            rows = [[f"s{message}", "sent", "", recipient, at.isoformat(), campaign, mid]]
            fate = generator.random()
            if fate < 0.02:
                kind = "hard" if fate < 0.015 else "soft"
                rows.append(
                    [f"b{message}", "bounce", kind, recipient, at.isoformat(), campaign, mid]
                )
            else:
                rows.append(
                    [f"d{message}", "delivered", "", recipient, at.isoformat(), campaign, mid]
                )
                if fate > 0.7:
                    rows.append(
                        [f"o{message}", "open", "", recipient, at.isoformat(), campaign, mid]
                    )
                if fate > 0.93:
                    rows.append(
                        [f"k{message}", "click", "", recipient, at.isoformat(), campaign, mid]
                    )
                if fate > 0.9995:
                    rows.append(
                        [f"x{message}", "complaint", "", recipient, at.isoformat(), campaign, mid]
                    )
            writer.writerows(rows[: count - written])
            written += len(rows[: count - written])


def plain_insert(csv_path: Path, db_path: Path) -> float:
    """(a): the CSV rows into a bare table with one executemany."""
    started = time.perf_counter()
    connection = sqlite3.connect(db_path)
    connection.execute(
        "CREATE TABLE raw (event_id TEXT, type TEXT, bounce_type TEXT, recipient TEXT, "
        "time TEXT, campaign TEXT, message_id TEXT)"
    )
    with csv_path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        connection.executemany("INSERT INTO raw VALUES (?, ?, ?, ?, ?, ?, ?)", reader)
    connection.commit()
    connection.close()
    return time.perf_counter() - started


def postwarden_import(csv_path: Path, url: str) -> float:
    engine = open_database(url)
    sessions = session_factory(engine)
    started = time.perf_counter()
    with sessions() as session:
        report = import_file(session, csv_path, source="csv", now=datetime.now(UTC))
        session.commit()
    seconds = time.perf_counter() - started
    engine.dispose()
    if report.inserted != report.records:
        raise SystemExit(f"import lost events: {report}")
    return seconds


def postwarden_rates(url: str) -> tuple[float, dict[str, Any]]:
    engine = open_database(url)
    profiles = load_profiles()
    with session_factory(engine)() as session:
        rates_report(session, profiles, as_of=AS_OF, days=30)  # warm the page cache
        started = time.perf_counter()
        report = rates_report(session, profiles, as_of=AS_OF, days=30)
        seconds = time.perf_counter() - started
    engine.dispose()
    return seconds, report.to_json()


def raw_sql_rates(db_path: Path) -> tuple[float, tuple[int, ...]]:
    """(b): the window's sums by one COUNT … GROUP BY over the raw events."""
    first = (AS_OF - timedelta(days=29)).isoformat()
    last = (AS_OF + timedelta(days=1)).isoformat()
    query = """
        SELECT provider,
               SUM(type = 'sent'), SUM(type = 'delivered'),
               SUM(type = 'bounce' AND bounce_type = 'hard'),
               SUM(type = 'bounce' AND bounce_type = 'soft'),
               SUM(type = 'complaint'), COUNT(*)
        FROM events WHERE time >= ? AND time < ? GROUP BY provider
    """
    connection = sqlite3.connect(db_path)
    connection.execute(query, (first, last)).fetchall()  # warm the page cache
    started = time.perf_counter()
    rows = connection.execute(query, (first, last)).fetchall()
    seconds = time.perf_counter() - started
    connection.close()
    totals = tuple(sum(int(row[i]) for row in rows) for i in range(1, 6))
    return seconds, totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000])
    args = parser.parse_args()
    print(
        f"{'events':>9}  {'import':>8}  {'(a) plain':>9}  {'ratio':>6}  "
        f"{'rates':>8}  {'(b) SQL':>8}  {'speed-up':>8}"
    )
    for count in args.events:
        with tempfile.TemporaryDirectory(prefix="pw-events-") as tmp:
            directory = Path(tmp)
            csv_path = directory / "events.csv"
            write_events(csv_path, count)
            plain = plain_insert(csv_path, directory / "plain.db")
            ours_db = directory / "postwarden.db"
            imported = postwarden_import(csv_path, f"sqlite:///{ours_db}")
            rates_seconds, report = postwarden_rates(f"sqlite:///{ours_db}")
            sql_seconds, totals = raw_sql_rates(ours_db)
            ours = tuple(
                report[k]
                for k in ("sent", "delivered", "bounced_hard", "bounced_soft", "complaints")
            )
            if ours != totals:
                raise SystemExit(f"rates disagree with SQL: {ours} vs {totals}")
            print(
                f"{count:>9}  {imported:>7.2f}s  {plain:>8.2f}s  {imported / plain:>5.2f}x  "
                f"{rates_seconds * 1000:>6.1f}ms  {sql_seconds * 1000:>6.1f}ms  "
                f"{sql_seconds / rates_seconds:>7.1f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
