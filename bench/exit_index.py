"""Benchmark: what the partial index of exit events costs the events import.

Imports the same generated events file (bench/events.py's mix) into fresh
SQLite files with the index ``ix_events_exits`` and, as the peer, with it
dropped, alternating three rounds each in one run, and prints each import's
CPU time (user + system of this process, where SQLite does all the work: on
a shared machine it varies far less than wall time) and wall time, and the
ratio of the medians:

    python -m bench.exit_index                  # 300,000 events
    python -m bench.exit_index --events 1000000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

from sqlalchemy import text

from bench.events import write_events
from compliance.events.importer import import_file
from store.engine import open_database, session_factory


def import_seconds(db: Path, events: Path, *, index: bool) -> tuple[float, float]:
    """CPU and wall seconds of one import into a fresh file."""
    engine = open_database(f"sqlite:///{db}")
    if not index:
        with engine.begin() as connection:
            connection.execute(text("DROP INDEX ix_events_exits"))
    with session_factory(engine)() as session:
        started, cpu = time.perf_counter(), time.process_time()
        import_file(session, events, source="csv", now=datetime.now(UTC))
        session.commit()
        seconds = time.process_time() - cpu, time.perf_counter() - started
    engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pw-exit-index-") as tmp:
        directory = Path(tmp)
        events = directory / "events.csv"
        write_events(events, args.events)
        times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for round_ in range(args.rounds):
            for index in (True, False):
                db = directory / f"{'with' if index else 'without'}-{round_}.db"
                times[index].append(import_seconds(db, events, index=index))
        for index, runs in times.items():
            label = "with the index " if index else "without (peer) "
            print(label, "  ".join(f"cpu {cpu:6.2f} s wall {wall:6.2f} s" for cpu, wall in runs))
        cpu_ratio = median(c for c, _ in times[True]) / median(c for c, _ in times[False])
        wall_ratio = median(w for _, w in times[True]) / median(w for _, w in times[False])
        print(f"ratio of the medians: cpu {cpu_ratio:.2f}x, wall {wall_ratio:.2f}x")


if __name__ == "__main__":
    main()
