"""Benchmark: five attribution models against one SQL window query for last touch, one run.

Builds a SQLite database of EVENTS delivery events (sends, opens, clicks of
200,000 recipients over 60 days, 20 campaigns) and CONVERSIONS conversions
in the last 30 days, then measures, each in its own process (wall time and
peak RSS):

- postwarden: :func:`compliance.roi.report.attribute` with all five models (the
  touch-gathering SQL over the events, streamed into the pure models);
- peer: one SQL statement computing last touch alone: the same join,
  ``ROW_NUMBER() OVER (PARTITION BY conversion ORDER BY time DESC)``, the
  first row of each conversion summed per campaign and currency.

Both read the same database file one after the other; the ratio is printed.

    python -m bench.roi                       # 5,000,000 events, 100,000 conversions
    python -m bench.roi --events 500000 --conversions 10000
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

# Runs a command and prints its exit status, peak RSS (KB) and CPU seconds (user + system):
# on a shared machine the CPU time is the steadier figure, the wall time the honest one.
LAUNCHER = """
import os, subprocess, sys
pid = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL).pid
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
"""

START = datetime(2026, 10, 2, tzinfo=UTC)
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)
RECIPIENTS = 200_000
DOMAINS = ["gmail.com", "yahoo.com", "hotmail.com", "example.org"]
PEER_SQL = """
SELECT campaign, currency, SUM(value), COUNT(*) FROM (
  SELECT e.campaign AS campaign, c.currency AS currency, c.value AS value,
         ROW_NUMBER() OVER (PARTITION BY c.id ORDER BY e.time DESC) AS position
  FROM conversions c JOIN events e ON e.recipient = c.email
  WHERE c.time >= ? AND c.time < ? AND e.type = 'click'
    AND e.time <= c.time AND e.time >= datetime(c.time, '-2592000 seconds')
) WHERE position = 1 GROUP BY campaign, currency
"""


def _stamp(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def build(path: Path, events: int, conversions: int) -> None:
    """The schema by Postwarden's migrations, then rows written straight to SQLite."""
    from store.engine import open_database

    open_database(f"sqlite:///{path}").dispose()
    generator = random.Random(11)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("PRAGMA synchronous=OFF")

    def rows() -> object:
        written = 0
        message = 0
        while written < events:
            message += 1
            person = generator.randrange(RECIPIENTS)
            recipient = f"u{person}@{DOMAINS[person % 4]}"
            at = START + timedelta(seconds=generator.randrange(60 * 86400))
            campaign = f"c{message % 20}"
            kinds = ["sent"]
            fate = generator.random()
            if fate > 0.6:
                kinds.append("open")
            if fate > 0.85:
                kinds.append("click")
            for offset, kind in enumerate(kinds):
                stamp = _stamp(at + timedelta(minutes=offset * 30))
                yield ("csv", f"{kind[0]}{message}", kind, None, recipient, "other", stamp,
                       stamp[:10], campaign, None, None, None, 0, None)  # fmt: skip
                written += 1
                if written == events:
                    return

    connection.executemany(
        "INSERT INTO events (source, event_id, type, bounce_type, recipient, provider, time, "
        "day, campaign, message_id, reason, url, machine, import_id) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows(),  # type: ignore[arg-type]
    )
    window = datetime(2026, 11, 1, tzinfo=UTC)
    connection.executemany(
        "INSERT INTO conversions (conversion_id, email, time, value, currency, type, imported_at) "
        "VALUES (?,?,?,?,?,?,?)",
        (
            (
                f"k{n}",
                f"u{(p := generator.randrange(RECIPIENTS))}@{DOMAINS[p % 4]}",
                _stamp(window + timedelta(seconds=generator.randrange(30 * 86400))),
                generator.randrange(1, 500) * 10_000,
                "EUR" if n % 5 else "USD",
                "purchase",
                _stamp(window),
            )
            for n in range(conversions)
        ),
    )
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


def run_models(path: Path) -> None:
    """All five models over the window (what ``postwarden roi --compare`` computes).

    The engine is SQLAlchemy's own: the CLI's migration check (Alembic, 0.4 s of
    imports) is not part of attributing.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from compliance.roi.report import RoiOptions, attribute

    engine = create_engine(f"sqlite:///{path}")
    wall, cpu = time.perf_counter(), time.process_time()
    with Session(engine) as session:
        result = attribute(session, RoiOptions(start=FIRST, end=LAST))
    _work(wall, cpu)
    last = result.credit["last_touch"]
    email = sum(credit.revenue for key, credit in last.items() if key[0] == "email")
    print(f"conversions {result.conversions}, last-touch email revenue {email}", file=sys.stderr)


def _work(wall: float, cpu: float) -> None:
    """Report the work's own time (after start-up and imports) to the launcher."""
    print(f"work {time.perf_counter() - wall:.3f} {time.process_time() - cpu:.3f}", file=sys.stderr)


def run_peer(path: Path) -> None:
    """Last touch alone, as one SQL window query."""
    connection = sqlite3.connect(path)
    wall, cpu = time.perf_counter(), time.process_time()
    rows = connection.execute(
        PEER_SQL,
        (
            _stamp(datetime.combine(FIRST, datetime.min.time())),
            _stamp(datetime.combine(LAST + timedelta(days=1), datetime.min.time())),
        ),
    ).fetchall()
    _work(wall, cpu)
    email = sum(row[2] for row in rows)
    print(
        f"attributed {sum(r[3] for r in rows)}, last-touch email revenue {email}", file=sys.stderr
    )


def measured(command: list[str]) -> tuple[float, float, float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one child process, and the wall
    and CPU seconds of its work alone (without interpreter start-up and imports)."""
    started = time.perf_counter()
    launched = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command], check=True, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    status, peak, cpu = launched.stdout.split()
    if status != "0":
        raise SystemExit(f"{' '.join(command)} failed ({status}): {launched.stderr.strip()}")
    work = next(line for line in launched.stderr.splitlines() if line.startswith("work "))
    work_wall, work_cpu = (float(field) for field in work.split()[1:])
    return elapsed, float(cpu), int(peak) / 1024, work_wall, work_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--conversions", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="Build the database here, or reuse it.")
    parser.add_argument("--rounds", type=int, default=2, help="Measurements of each (2).")
    parser.add_argument("--run", choices=["models", "peer"], help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run == "models":
        run_models(args.db)
        return
    if args.run == "peer":
        run_peer(args.db)
        return
    with tempfile.TemporaryDirectory() as directory:
        path = args.keep or Path(directory) / "roi.db"
        started = time.perf_counter()
        if path.exists():
            print(f"reusing {path}")
        else:
            build(path, args.events, args.conversions)
            print(
                f"built {args.events:,} events, {args.conversions:,} conversions "
                f"in {time.perf_counter() - started:.0f} s"
            )
        command = [sys.executable, "-m", "bench.roi", "--db", str(path), "--run"]
        # Untimed, so that neither pays for reading the file into the page cache.
        measured([*command, "peer"])
        for number in range(args.rounds):
            # Each goes first in turn: the second may find more of the file still cached.
            if number % 2:
                ours = measured([*command, "models"])
                peer = measured([*command, "peer"])
            else:
                peer = measured([*command, "peer"])
                ours = measured([*command, "models"])
            for name, (wall, cpu, mb, work_wall, work_cpu) in (
                ("peer (SQL window, last touch only)", peer),
                ("postwarden (all five models)      ", ours),
            ):
                print(
                    f"{name}: process {wall:6.2f} s wall, {cpu:6.2f} s CPU, {mb:4.0f} MB; "
                    f"its work {work_wall:6.2f} s wall, {work_cpu:6.2f} s CPU"
                )
            print(
                f"ratio: process {ours[0] / peer[0]:.2f}x wall, {ours[1] / peer[1]:.2f}x CPU; "
                f"work {ours[3] / peer[3]:.2f}x wall, {ours[4] / peer[4]:.2f}x CPU"
            )


if __name__ == "__main__":
    main()
