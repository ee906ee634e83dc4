"""Benchmark: events partitioned by month against the plain table, on PostgreSQL, in one run.

Starts a throwaway PostgreSQL server (tests/postgres.py), brings one database
to the newest schema (``events`` partitioned by month) and puts beside it, in
a schema ``plain``, the events table as it was before migration 0020 (primary
key ``id``, unique ``(source, event_id)``, the partial index of exits). Then:

- load: EVENTS generated events (13 months, a mix of sends, deliveries,
  bounces, opens, clicks and exits to EVENTS/20 recipients) are written by the
  server itself into the plain table, keys built after; the same rows are
  copied into the partitioned one (what migration 0020 does), keys after.
  The daily aggregates and the per-recipient activity are built from them by
  the importer's own statements, and EVENTS/20 contacts (a tenth re-subscribed
  half-way, so the audit looks exits up in the events) are added;
- on each table, through Postwarden's own functions: the 30-day ``rates``
  report, the 30-day campaign engagement (which reads the events), the list
  audit as of the last day (the activity table) and as of six months earlier
  (a GROUP BY over the events before it), and the history purge of events
  older than a year (:func:`store.partitions.delete_events_before`). The
  answers of both tables must be equal, or the benchmark stops.

Each step prints the CPU seconds of the PostgreSQL backend that ran it (read
from /proc; parallel query is off so one process does all the work: on a
shared machine CPU varies far less than wall time), this process's CPU and
the wall time.

    python -m bench.partitions                      # 10,000,000 events
    python -m bench.partitions --events 1000000
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import Session

from compliance.audit.list_audit import run_audit
from compliance.events.campaigns import campaign_stats
from compliance.events.importer import _activity_statement, _aggregate_statement
from compliance.rates.limit_profiles import load_profiles
from compliance.rates.report import rates_report
from store.engine import make_engine, session_factory, upgrade_database
from store.partitions import add_month_partitions, delete_events_before, next_month
from tests.postgres import postgres_bindir, running_postgres

START = datetime(2025, 11, 1, tzinfo=UTC)
AS_OF = date(2026, 11, 30)
SPAN = (
    datetime.combine(AS_OF + timedelta(days=1), datetime.min.time(), UTC) - START
).total_seconds()
DOMAINS = "ARRAY['gmail.com','yahoo.com','hotmail.com','example.org','example.net','aol.com']"
PROVIDERS = "ARRAY['gmail','yahoo','microsoft','other','other','yahoo']"
COLUMNS = (
    "id, source, event_id, type, bounce_type, recipient, provider, time, day, campaign, "
    "message_id, reason, url, machine, import_id"
)
# Row i: its time grows with i (as imports' ids do); its kind by i mod 1000.
GENERATE = f"""
INSERT INTO plain.events ({COLUMNS})
SELECT i, 'csv', 'e' || i,
       CASE WHEN k < 450 THEN 'sent' WHEN k < 870 THEN 'delivered' WHEN k < 890 THEN 'bounce'
            WHEN k < 980 THEN 'open' WHEN k < 995 THEN 'click' WHEN k < 997 THEN 'unsubscribe'
            WHEN k < 998 THEN 'complaint' ELSE 'open' END,
       CASE WHEN k >= 870 AND k < 885 THEN 'hard' WHEN k >= 885 AND k < 890 THEN 'soft' END,
       'u' || r || '@' || ({DOMAINS})[r % 6 + 1], ({PROVIDERS})[r % 6 + 1],
       t, (t AT TIME ZONE 'UTC')::date, 'c' || (i * 400 / :n), 'm' || (i / 3),
       NULL, NULL, false, 1
FROM generate_series(1::bigint, :n) AS i,
     LATERAL (SELECT i % 1000 AS k, (i * 7919) % :recipients AS r,
                     :start + ((i - 1)::float8 / :n * :span) * interval '1 second' AS t) AS row
"""
CONTACTS = f"""
INSERT INTO contacts (list_name, address, domain, role_account, status, opted_in, optin_time,
                      confirmed, confirm_time, confirm_ip, first_seen_at, updated_at)
SELECT 'default', 'u' || j || '@' || ({DOMAINS})[j % 6 + 1], ({DOMAINS})[j % 6 + 1], false,
       CASE WHEN j % 50 = 0 THEN 'unsubscribed' ELSE 'subscribed' END,
       true, :start - interval '30 days', true,
       CASE WHEN j % 10 = 1 THEN :start + interval '200 days'
            ELSE :start - interval '30 days' + interval '5 minutes' END,
       '192.0.2.7', :start, :start
FROM generate_series(0, :recipients - 1) AS j
"""
EXITS = "type IN ('bounce', 'complaint', 'unsubscribe')"


def keys(schema: str, primary: str, unique: str) -> list[str]:
    """The keys and indexes of each layout (the plain one has a foreign key too)."""
    statements = [
        f"ALTER TABLE {schema}.events ADD PRIMARY KEY ({primary})",
        f"ALTER TABLE {schema}.events ADD CONSTRAINT uq_events_source_event_id UNIQUE ({unique})",
        f"CREATE INDEX ix_events_exits ON {schema}.events (recipient, type, time) WHERE {EXITS}",
    ]
    if schema == "plain":
        statements.append(
            "ALTER TABLE plain.events ADD FOREIGN KEY (import_id) REFERENCES event_imports (id)"
        )
    return statements


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def timed(
    connection: Connection, figures: dict[str, tuple[float, float, float]], name: str
) -> Iterator[None]:
    """Record server CPU, client CPU and wall seconds of the block as ``figures[name]``."""
    pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    server, client, wall = cpu_of(pid), time.process_time(), time.perf_counter()
    yield
    figures[name] = (cpu_of(pid) - server, time.process_time() - client, time.perf_counter() - wall)
    # Printed as it ends too: a run at 100M events takes hours, and a stopped one keeps its steps.
    print(f"{name}: " + " / ".join(f"{v:.2f} s" for v in figures[name]), flush=True)


def load(engine: Engine, events: int, figures: dict[str, Any]) -> None:
    """Both tables, the aggregates, the activity and the contacts."""
    recipients = max(events // 20, 10)
    params = {"n": events, "recipients": recipients, "start": START, "span": SPAN}
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO event_imports (id, source, name, started_at, records, inserted, "
                "duplicates, ignored) VALUES (1, 'csv', 'bench', now(), 0, 0, 0, '{}')"
            )
        )
        connection.execute(text("CREATE SCHEMA plain"))
        connection.execute(
            text("CREATE TABLE plain.events (LIKE public.events INCLUDING DEFAULTS)")
        )
    with engine.begin() as connection, timed(connection, figures, "load plain"):
        connection.execute(text(GENERATE), params)
        for statement in keys("plain", "id", "source, event_id"):
            connection.execute(text(statement))
    with engine.begin() as connection, timed(connection, figures, "load partitioned"):
        months, month = [], date(START.year, START.month, 1)
        while month <= AS_OF:
            months.append(month)
            month = next_month(month)
        add_month_partitions(connection, months)
        for name in ("events_pkey", "uq_events_source_event_id"):
            connection.execute(text(f"ALTER TABLE public.events DROP CONSTRAINT {name}"))
        connection.execute(text("DROP INDEX public.ix_events_exits"))
        connection.execute(text(f"INSERT INTO public.events SELECT {COLUMNS} FROM plain.events"))
        for statement in keys("public", "id, time", "source, event_id, time"):
            connection.execute(text(statement))
    with engine.begin() as connection:
        mine = {"after_id": 0, "import_id": 1}
        connection.execute(_aggregate_statement("postgresql"), mine)
        connection.execute(_activity_statement("postgresql"), mine)
        connection.execute(text(CONTACTS), params)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def measure(engine: Engine, label: str, figures: dict[str, Any]) -> dict[str, Any]:
    """Rates, engagement, the audit now and six months ago, then the purge; their answers."""
    answers: dict[str, Any] = {}
    past = AS_OF - timedelta(days=182)
    steps: dict[str, Callable[[Session], Any]] = {
        "rates 30 days": lambda s: rates_report(s, load_profiles(), as_of=AS_OF, days=30),
        "campaign engagement 30 days": lambda s: campaign_stats(s, as_of=AS_OF, days=30),
        "audit as of the last day": lambda s: run_audit(s, AS_OF),
        f"audit as of {past}": lambda s: run_audit(s, past),
    }
    for name, step in steps.items():
        with session_factory(engine)() as session:
            with timed(session.connection(), figures, f"{name} ({label})"):
                answers[name] = step(session)
            session.rollback()
    # A first purge that catches up on half the history, then the next day's.
    cutoff = datetime.combine(AS_OF - timedelta(days=200), datetime.min.time(), UTC)
    for day in (cutoff, cutoff + timedelta(days=1)):
        with (
            engine.begin() as connection,
            timed(connection, figures, f"purge before {day.date()} ({label})"),
        ):
            dropped, deleted = delete_events_before(connection, day)
        answers[f"purged before {day.date()}"] = (dropped, deleted)
    with engine.connect() as connection:
        left = connection.execute(text("SELECT count(*), min(time) FROM events")).one()
    answers["events left after the purge"] = tuple(left)
    return answers


def engine_on(url: str, search_path: str) -> Engine:
    """Postwarden's engine (store.engine.make_engine: no JIT), on one layout's tables."""
    engine = make_engine(url)

    def settings(dbapi_connection: Any, _record: Any) -> None:
        # Parallel query off: the one backend's CPU is then all the work a step did.
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET search_path = {search_path}")
        cursor.execute("SET max_parallel_workers_per_gather = 0")
        cursor.close()
        dbapi_connection.commit()

    event.listen(engine, "connect", settings)
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    args = parser.parse_args()
    bindir = postgres_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed")
    # Stopped, the server is still stopped and its files removed (tests/postgres.py).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    figures: dict[str, Any] = {}
    print(f"load average before: {os.getloadavg()}")
    with running_postgres(bindir) as url:
        admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for setting, value in (("maintenance_work_mem", "'512MB'"), ("work_mem", "'64MB'"),
                                   ("max_wal_size", "'8GB'")):  # fmt: skip
                connection.execute(text(f"ALTER SYSTEM SET {setting} = {value}"))
            connection.execute(text("SELECT pg_reload_conf()"))
            connection.execute(text("CREATE DATABASE bench"))
        database = url.replace("/postgres?", "/bench?")
        partitioned = engine_on(database, "public")
        upgrade_database(partitioned)
        load(partitioned, args.events, figures)
        plain = engine_on(database, "plain,public")
        with plain.connect() as connection:
            size = connection.execute(text(
                "SELECT pg_total_relation_size('plain.events'), "
                "(SELECT sum(pg_total_relation_size(inhrelid))::bigint FROM pg_inherits "
                "WHERE inhparent = 'public.events'::regclass)")).one()  # fmt: skip
        print(f"{args.events:,} events; plain {size[0] / 1e9:.2f} GB, "
              f"partitioned {size[1] / 1e9:.2f} GB (tables and indexes)")  # fmt: skip
        on_plain = measure(plain, "plain", figures)
        on_partitioned = measure(partitioned, "partitioned", figures)
        purges = [name for name in on_plain if name.startswith("purged")]
        for name in purges:
            (_, deleted_plain), (dropped, deleted) = on_plain.pop(name), on_partitioned.pop(name)
            print(f"{name}: the plain table deleted {deleted_plain:,} rows; the partitioned "
                  f"one dropped {len(dropped)} months and deleted {deleted:,} rows")  # fmt: skip
        if on_plain != on_partitioned:
            different = [k for k in on_plain if on_plain[k] != on_partitioned[k]]
            raise SystemExit(f"the answers differ: {different}")
        print("answers equal on both tables")
        plain.dispose()
        partitioned.dispose()
        admin.dispose()
    print(f"{'step':58} {'server CPU s':>12} {'client CPU s':>12} {'wall s':>9}")
    for name, (server, client, wall) in figures.items():
        print(f"{name:58} {server:12.2f} {client:12.2f} {wall:9.2f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
