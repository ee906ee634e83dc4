"""``bench.capacity --workers 1 2 3``: one sweep shared by N worker processes on PostgreSQL,
against the single-process sweep, on the same targets, resolver and server in one run.

A throwaway PostgreSQL server (``tests.postgres``) holds the targets. First
the single-process sweep: ``monitor.jobs.sweep_authentication`` in this
process, as a leader ran it before sweeps were shared. Then, for each N, N
``postwarden worker`` processes are started and left to settle (their
first-run jobs done, CPU idle); the sweep is planned with
``monitor.sweep_chunks.plan_sweep`` exactly as the leader's scheduled job
plans it, and timed until its last chunk is recorded. unbound's cache is
flushed before every sweep. Blocklists and transport checks are off: this
measures the authentication sweep, the biggest.

CPU time is the workers' (every thread, from ``/proc``, idle heartbeats and
polling included: they are the coordination) plus the PostgreSQL server's
(its backends, live and exited), per target. Coordination's cost is the
shared sweep's CPU per target over the single-process sweep's.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int, *, reaped: bool = False) -> float:
    """User + system seconds of ``pid`` (all its threads); with its reaped children's."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rpartition(")")[2].split()
    # utime, stime, cutime, cstime are fields 14-17 of stat; here 11-14 after the name.
    used = int(fields[11]) + int(fields[12])
    if reaped:
        used += int(fields[13]) + int(fields[14])
    return used / TICK


def postgres_cpu(data: Path) -> float:
    """CPU seconds of a PostgreSQL server: the postmaster, its exited backends, its live ones."""
    postmaster = int((data / "postmaster.pid").read_text(encoding="ascii").split()[0])
    total = process_cpu(postmaster, reaped=True)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii")
            if int(stat.rpartition(")")[2].split()[1]) == postmaster:
                total += process_cpu(int(entry.name))
        except (OSError, ValueError):
            continue  # gone meanwhile: its time is in the postmaster's reaped share
    return total


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class SharedFigure:
    mode: str
    workers: int
    targets: int
    seconds: float
    worker_cpu: float
    postgres_cpu: float
    outcome: str
    # Queries the workers sent to unbound, and unbound's CPU seconds, in the sweep.
    queries: float = 0.0
    unbound_cpu: float = 0.0

    @property
    def cpu_ms_per_target(self) -> float:
        return (self.worker_cpu + self.postgres_cpu) * 1000 / self.targets


def _set_paused(url: str, paused: bool) -> None:
    from sqlalchemy import text

    from store.engine import open_database

    engine = open_database(url)
    with engine.begin() as connection:
        for table in ("domains", "sending_ips"):
            connection.execute(text(f"UPDATE {table} SET paused = :paused"), {"paused": paused})
    engine.dispose()


def _start_workers(url: str, count: int, env: dict[str, str], log: Path) -> list[Any]:
    script = Path(sys.executable).with_name("postwarden")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
    environment.update(env)
    started = []
    with log.open("ab") as sink:
        for _ in range(count):
            started.append(
                subprocess.Popen([str(script), "worker", "--db", url], stderr=sink, env=environment)
            )
    return started


def _settle(processes: Sequence[Any], url: str, count: int) -> None:
    """Until every worker is registered with the engine and their CPU stands still."""
    from sqlalchemy import text

    from store.engine import open_database

    engine = open_database(url)
    try:
        while True:
            with engine.connect() as connection:
                live = connection.execute(text("SELECT count(*) FROM procrastinate_workers"))
                if live.scalar_one() >= count:
                    break
            time.sleep(0.5)
    finally:
        engine.dispose()
    quiet, before = 0, sum(process_cpu(p.pid) for p in processes)
    while quiet < 3:
        time.sleep(1)
        now = sum(process_cpu(p.pid) for p in processes)
        quiet = quiet + 1 if now - before < 0.1 * len(processes) else 0
        before = now


def _wait_for_sweep(url: str, sweep_id: int) -> tuple[int, int]:
    from sqlalchemy import text

    from store.engine import open_database

    engine = open_database(url)
    try:
        while True:
            with engine.connect() as connection:
                row = connection.execute(
                    text("SELECT finished_at, chunks, run_id FROM sweeps WHERE id = :id"),
                    {"id": sweep_id},
                ).one()
            if row.finished_at is not None:
                return int(row.chunks), int(row.run_id)
            time.sleep(0.2)
    finally:
        engine.dispose()


def run_shared(
    url: str,
    data: Path,
    settings: Any,
    counts: Sequence[int],
    unbound: Any,
    directory: Path,
    domains: Sequence[str],
    ips: Sequence[str],
) -> list[SharedFigure]:
    """The single-process sweep, then one shared sweep for each worker count."""
    from bench.capacity import verify
    from monitor.jobs import sweep_authentication
    from monitor.sweep_chunks import plan_sweep
    from monitor.task_engine import defer_chunk_on, make_app
    from store.engine import open_database, session_factory

    settings = replace(settings, database_url=url)
    engine = open_database(url)
    sessions = session_factory(engine)
    figures = []
    targets = len(domains) + len(ips)

    unbound.flush()
    resolver = process_cpu(unbound.process.pid)
    cpu, server, started = own_cpu(), postgres_cpu(data), time.perf_counter()
    with sessions() as session:
        outcome = sweep_authentication(session, datetime.now(UTC), settings)
        session.commit()
    figure = SharedFigure("single process", 1, targets, time.perf_counter() - started,
                          own_cpu() - cpu, postgres_cpu(data) - server, outcome,
                          unbound.stats().get("total.num.queries", 0),
                          process_cpu(unbound.process.pid) - resolver)  # fmt: skip
    figure.outcome += _validity(verify(url, "auth", domains, ips))
    figures.append(figure)
    print(_row(figure, figures[0]), flush=True)

    env = {
        "POSTWARDEN_DNS_NAMESERVERS": f"127.0.0.1:{unbound.port}",
        "POSTWARDEN_DNS_CONCURRENCY": str(settings.concurrency),
        "POSTWARDEN_BLOCKLISTS_ENABLED": "false",
        "POSTWARDEN_TRANSPORT_ENABLED": "false",
        "POSTWARDEN_SCHEDULE_CHUNK_SIZE": str(settings.schedule.chunk_size),
        # The bench plans the sweep itself, once the workers have settled.
        "POSTWARDEN_SCHEDULE_AUTH_MINUTES": "100000",
    }
    defer = defer_chunk_on(make_app(settings))
    for count in counts:
        # Paused while they start: a new leader's first sweep finds nothing to do.
        _set_paused(url, True)
        workers = _start_workers(url, count, env, directory / f"workers-{count}.log")
        try:
            _settle(workers, url, count)
            _set_paused(url, False)
            unbound.flush()
            resolver = process_cpu(unbound.process.pid)
            before = sum(process_cpu(p.pid) for p in workers)
            cpu, server, started = own_cpu(), postgres_cpu(data), time.perf_counter()
            with sessions.begin() as session:
                planned = plan_sweep("auth_sweep", session, datetime.now(UTC), settings, defer)
            sweep_id = int(planned.split(":")[0].removeprefix("sweep "))
            chunks, _ = _wait_for_sweep(url, sweep_id)
            seconds = time.perf_counter() - started
            # The planning is the leader's work: counted with the workers'.
            used = sum(process_cpu(p.pid) for p in workers) - before + own_cpu() - cpu
            figure = SharedFigure(f"{count} worker{'s' if count > 1 else ''}", count, targets,
                                  seconds, used, postgres_cpu(data) - server,
                                  f"{planned}; {chunks} chunks recorded",
                                  unbound.stats().get("total.num.queries", 0),
                                  process_cpu(unbound.process.pid) - resolver)  # fmt: skip
            figure.outcome += _validity(verify(url, "auth", domains, ips))
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=120)
            taken_over = _log_lines(directory / f"workers-{count}.log", "put back in the queue")
            refused = _log_lines(directory / f"workers-{count}.log", "recorded it first")
            if os.environ.get("BENCH_KEEP_LOGS"):
                kept = Path(os.environ["BENCH_KEEP_LOGS"]) / f"workers-{count}.log"
                kept.write_bytes((directory / f"workers-{count}.log").read_bytes())
        figure.outcome += f"; {taken_over} jobs put back as stalled, {refused} chunks refused twice"
        figures.append(figure)
        print(_row(figure, figures[0]), flush=True)
    engine.dispose()
    return figures


def _log_lines(log: Path, text: str) -> int:
    return sum(text in line for line in log.read_text(encoding="utf-8").splitlines())


def _validity(problem: str | None) -> str:
    return "" if problem is None else f"; NOT VALID: {problem}"


HEADER = (
    f"{'sweep':<16} {'targets':>8} {'wall s':>8} {'targets/s':>10} {'workers CPU s':>14} "
    f"{'PG CPU s':>9} {'CPU ms/target':>14} {'vs single':>10} {'queries/target':>15} "
    f"{'unbound CPU s':>14}  | outcome"
)


def _row(figure: SharedFigure, single: SharedFigure) -> str:
    ratio = figure.cpu_ms_per_target / single.cpu_ms_per_target - 1
    return (
        f"{figure.mode:<16} {figure.targets:>8,} {figure.seconds:>8.1f} "
        f"{figure.targets / figure.seconds:>10.1f} {figure.worker_cpu:>14.1f} "
        f"{figure.postgres_cpu:>9.1f} {figure.cpu_ms_per_target:>14.2f} {ratio:>+10.1%} "
        f"{figure.queries / figure.targets:>15.2f} {figure.unbound_cpu:>14.1f}  | {figure.outcome}"
    )
