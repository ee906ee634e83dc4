"""Sweeps shared by several workers on PostgreSQL, through the task engine (procrastinate).

Real worker processes (``postwarden worker``), a real PostgreSQL server and a
real DNS server on loopback: every target is recorded exactly once per sweep
however many workers share it, when one is killed mid-chunk, and when the
database restarts mid-sweep.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from checks.dns import DnsSettings, parse_nameserver
from checks.rate_limit import LeasedRateLimiter
from checks.results import SpfResult, TargetResult
from checks.zoneserver import ZoneServer
from monitor.blocklist_pace import lease_from
from monitor.history import record_results, start_run
from monitor.settings import Settings
from monitor.sweep_chunks import lock_run, plan_sweep, run_chunk
from monitor.targets import add_domain
from store.alerting import Alert, Notification
from store.engine import open_database, session_factory
from store.models import CheckRecord, CheckRun
from store.sweeps import Sweep, SweepChunk
from tests.conftest import zone
from tests.keys import rsa_key, txt
from tests.postgres import pg_ctl
from tests.waiting import eventually

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
KEY = txt("v=DKIM1; k=rsa; p=" + rsa_key(2048))
AUTH_CHECKS = {"spf", "dmarc", "dkim", "mx"}


def fleet_zone(count: int, revoked: int = 0) -> str:
    """``count`` shops; the first ``revoked`` have their DKIM key revoked."""
    lines = ['_spf.esp TXT "v=spf1 ip4:198.51.100.0/24 -all"']
    for n in range(count):
        key = '"v=DKIM1; p="' if n < revoked else KEY
        lines += [
            f'shop{n} TXT "v=spf1 include:_spf.esp.example.test -all"',
            f"shop{n} MX 10 mx.shop{n}",
            f"mx.shop{n} A 192.0.2.{n % 250 + 1}",
            f'_dmarc.shop{n} TXT "v=DMARC1; p=reject"',
            f"s1._domainkey.shop{n} TXT {key}",
        ]
    return zone("\n".join(lines))


def add_fleet(url: str, count: int) -> set[str]:
    """Monitor ``count`` shops (in one transaction: no sweep sees half a fleet)."""
    engine = open_database(url)
    names = {f"shop{n}.example.test" for n in range(count)}
    with session_factory(engine).begin() as session:
        for name in sorted(names):
            add_domain(session, name, T0, selectors=["s1"])
    engine.dispose()
    return names


def start_worker(url: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).with_name("postwarden")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
    environment.update(env)
    with log.open("ab") as sink:
        return subprocess.Popen([str(script), "worker", "--db", url], stderr=sink, env=environment)


def worker_env(dns: ZoneServer, **more: str) -> dict[str, str]:
    return {
        "POSTWARDEN_DNS_NAMESERVERS": dns.nameserver,
        "POSTWARDEN_DNS_TIMEOUT": "5",
        "POSTWARDEN_BLOCKLISTS_ENABLED": "false",
        "POSTWARDEN_TRANSPORT_ENABLED": "false",
        "POSTWARDEN_SCHEDULE_CHUNK_SIZE": "3",
        "POSTWARDEN_SCHEDULE_HEARTBEAT_SECONDS": "0.5",
        **more,
    }


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def query(url: str, sql: str) -> list[sqlalchemy.Row[tuple[object, ...]]]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql)))
    finally:
        engine.dispose()


def finished_sweeps(url: str, chunks: int) -> list[sqlalchemy.Row[tuple[object, ...]]]:
    return query(
        url,
        "SELECT id, run_id FROM sweeps WHERE finished_at IS NOT NULL "
        f"AND chunks = {chunks} ORDER BY id",
    )


def recorded(url: str, run_id: object) -> Counter[tuple[str, str]]:
    rows = query(url, f'SELECT target, "check" FROM check_results WHERE run_id = {run_id}')
    return Counter((row.target, row.check) for row in rows)


def chunk_workers(url: str, sweep_id: object) -> list[str]:
    rows = query(url, f"SELECT worker FROM sweep_chunks WHERE sweep_id = {sweep_id}")
    return [row.worker.rsplit(":", 1)[1] for row in rows]


def live_engine_workers(url: str) -> int:
    return len(query(url, "SELECT id FROM procrastinate_workers"))


@pytest.mark.parametrize("count", [2, 3])
def test_workers_share_a_sweep_and_every_target_is_recorded_once(
    count: int, postgres_url: str, tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    open_database(postgres_url).dispose()
    # Each answer takes a moment, so that every worker is busy with a chunk at once.
    with ZoneServer({"example.test.": fleet_zone(30)}, delay=0.05) as dns:
        env = worker_env(dns, POSTWARDEN_SCHEDULE_AUTH_MINUTES="0.1")
        for number in range(count):
            workers.append(start_worker(postgres_url, tmp_path / f"{number}.log", **env))
        eventually(lambda: live_engine_workers(postgres_url) == count, interval=0.2)
        names = add_fleet(postgres_url, 30)
        sweep = eventually(lambda: finished_sweeps(postgres_url, 10), timeout=120, interval=0.2)[0]
    results = recorded(postgres_url, sweep.run_id)
    assert set(results) == {(name, check) for name in names for check in AUTH_CHECKS}
    assert set(results.values()) == {1}
    # Every worker took chunks, leader and standbys alike.
    assert set(chunk_workers(postgres_url, sweep.id)) == {str(p.pid) for p in workers}
    (run,) = query(postgres_url, f"SELECT target_count, status FROM check_runs "
                                 f"WHERE id = {sweep.run_id}")  # fmt: skip
    assert (run.target_count, run.status) == (30, "pass")


def test_a_worker_killed_mid_chunk_has_it_finished_by_another_and_nothing_twice(
    postgres_url: str, tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    names = add_fleet(postgres_url, 12)
    # The first four shops' keys are revoked: one alert each, opened on the first sweep.
    with ZoneServer({"example.test.": fleet_zone(12, revoked=4)}, delay=0.5) as dns:
        env = worker_env(
            dns,
            POSTWARDEN_SCHEDULE_AUTH_MINUTES="60",
            POSTWARDEN_ALERTS_CONFIRMATIONS="1",
            # Deliveries fail (nothing listens): the outbox keeps every notification.
            POSTWARDEN_ALERTS_WEBHOOK_URLS="http://127.0.0.1:9/hook",
        )
        first = start_worker(postgres_url, tmp_path / "first.log", **env)
        workers.append(first)
        doing = eventually(
            lambda: query(postgres_url, "SELECT id, args FROM procrastinate_jobs "
                                        "WHERE status = 'doing' AND task_name LIKE '%sweep_chunk'"),
            timeout=60, interval=0.05,
        )[0]  # fmt: skip
        first.kill()
        first.wait()
        second = start_worker(postgres_url, tmp_path / "second.log", **env)
        workers.append(second)
        sweep = eventually(lambda: finished_sweeps(postgres_url, 4), timeout=90, interval=0.2)[0]
    assert len(query(postgres_url, "SELECT id FROM sweeps")) == 1
    # The chunk the killed worker was in the middle of: finished by the other.
    chunk = doing.args["chunk"]
    (taken_over,) = query(
        postgres_url,
        f"SELECT worker FROM sweep_chunks WHERE sweep_id = {sweep.id} AND chunk = {chunk}",
    )
    assert taken_over.worker.endswith(f":{second.pid}")
    results = recorded(postgres_url, sweep.run_id)
    assert set(results) == {(name, check) for name in names for check in AUTH_CHECKS}
    assert set(results.values()) == {1}
    engine = sqlalchemy.create_engine(postgres_url)
    with Session(engine) as session:
        alerts = session.scalars(select(Alert)).all()
        notifications = session.scalars(select(Notification)).all()
    engine.dispose()
    assert sorted((a.target, a.check, a.state) for a in alerts) == [
        (f"shop{n}.example.test", "dkim", "open") for n in range(4)
    ]
    assert sorted((n.alert_id, n.event) for n in notifications) == sorted(
        (a.id, "opened") for a in alerts
    )


def test_a_database_restart_mid_sweep_and_the_sweep_still_finishes(
    postgres_url: str, tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    open_database(postgres_url).dispose()
    with ZoneServer({"example.test.": fleet_zone(24)}, delay=0.3) as dns:
        env = worker_env(dns, POSTWARDEN_SCHEDULE_AUTH_MINUTES="0.1")
        for name in ("a", "b"):
            workers.append(start_worker(postgres_url, tmp_path / f"{name}.log", **env))
        eventually(lambda: live_engine_workers(postgres_url) == 2, interval=0.2)
        names = add_fleet(postgres_url, 24)
        # A sweep with some chunks recorded and others not yet: restart the database now.
        (midway,) = eventually(
            lambda: query(postgres_url, "SELECT id, run_id FROM sweeps "
                                        "WHERE chunks_done > 0 AND finished_at IS NULL"),
            timeout=60, interval=0.1,
        )[:1]  # fmt: skip
        pg_ctl(postgres_url, "-m", "fast", "restart")
        eventually(
            lambda: query(postgres_url, f"SELECT id FROM sweeps WHERE id = {midway.id} "
                                        "AND finished_at IS NOT NULL"),
            timeout=120, interval=0.5, ignoring=(sqlalchemy.exc.OperationalError,),
        )  # fmt: skip
    sweep = midway
    results = recorded(postgres_url, sweep.run_id)
    assert set(results) == {(name, check) for name in names for check in AUTH_CHECKS}
    assert set(results.values()) == {1}
    assert all(p.poll() is None for p in workers)


def test_a_chunk_recorded_once_is_not_recorded_again(
    postgres_url: str, dns_server: ZoneServer
) -> None:
    dns_server.set_zone("example.test.", fleet_zone(5))
    names = add_fleet(postgres_url, 5)
    engine = open_database(postgres_url)
    sessions = session_factory(engine)
    settings = _with_dns(Settings(database_url=postgres_url), dns_server)
    settings = replace(settings, schedule=replace(settings.schedule, chunk_size=3))
    deferred: list[tuple[int, int]] = []

    def defer(_session: Session, sweep: int, chunks: Sequence[int]) -> None:
        deferred.extend((sweep, chunk) for chunk in chunks)

    with sessions.begin() as session:
        outcome = plan_sweep("auth_sweep", session, T0, settings, defer)
    assert outcome.endswith("5 targets in 2 chunks deferred")
    clock = lambda: T0  # noqa: E731
    for sweep_id, chunk in deferred:
        with sessions() as session:
            run_chunk(session, sweep_id, chunk, settings, worker="a:1", clock=clock)
    # A worker taken for dead runs the first chunk again: it records nothing.
    with sessions() as session:
        again = run_chunk(session, *deferred[0], settings, worker="b:2", clock=clock)
    assert again.endswith("was recorded by a:1")
    with sessions() as session:
        sweep = session.scalars(select(Sweep)).one()
        counts = Counter(session.execute(select(CheckRecord.target, CheckRecord.check)).all())
        assert (sweep.chunks, sweep.chunks_done) == (2, 2) and sweep.finished_at is not None
        assert {c.worker for c in session.scalars(select(SweepChunk))} == {"a:1"}
        # The history refuses a second result of a target and check in one run outright.
        session.add(CheckRecord(run_id=sweep.run_id, target="shop0.example.test", kind="domain",
                                check="spf", status="pass", detail={}))  # fmt: skip
        with pytest.raises(IntegrityError):
            session.flush()
    assert set(counts) == {(n, c) for n in names for c in AUTH_CHECKS}
    assert set(counts.values()) == {1}
    engine.dispose()


def test_two_chunks_recorded_at_once_wait_for_each_other_instead_of_deadlocking(
    postgres_url: str,
) -> None:
    # Two workers finishing chunks of one sweep together: each transaction holds a
    # key-share lock on the run's row (its results' foreign key) when it locks the row to
    # add its totals. Locked FOR UPDATE, each waited for the other's key-share lock, and
    # PostgreSQL broke the deadlock by failing one, which procrastinate then ran again
    # from its DNS lookups: a two-worker sweep asked the resolver half as much again.
    engine = open_database(postgres_url)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        run_id = start_run(session, started_at=T0, trigger="auth_sweep").id
    pending = [sessions(), sessions()]
    for session, name in zip(pending, ("a.example", "b.example"), strict=True):
        run = session.get_one(CheckRun, run_id)
        record_results(session, run, [TargetResult(name, "domain", {"spf": SpfResult()})], T0)
        session.flush()
    failures: list[BaseException] = []

    def add_totals(session: Session) -> None:
        try:
            lock_run(session, run_id).target_count += 1
            session.commit()
        except sqlalchemy.exc.OperationalError as error:  # a deadlock, as before the fix
            failures.append(error)
            session.rollback()
        finally:
            session.close()

    threads = [threading.Thread(target=add_totals, args=(session,)) for session in pending]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    (stored,) = query(postgres_url, f"SELECT target_count FROM check_runs WHERE id = {run_id}")
    assert stored.target_count == 2
    engine.dispose()


def _with_dns(settings: Settings, dns: ZoneServer) -> Settings:
    return replace(settings, dns=DnsSettings((parse_nameserver(dns.nameserver),), timeout=2.0))


def test_blocklist_slots_leased_by_two_processes_never_overlap(postgres_url: str) -> None:
    engine = open_database(postgres_url)
    rate = 40.0
    limiters = [LeasedRateLimiter(rate, lease_from(engine, "zen.example", rate)) for _ in "ab"]

    async def ask(limiter: LeasedRateLimiter) -> None:
        await asyncio.gather(*(limiter.acquire() for _ in range(30)))

    threads = [threading.Thread(target=asyncio.run, args=(ask(lim),)) for lim in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    slots = sorted(slot for limiter in limiters for slot in limiter.slots)
    assert len(slots) == 60
    gaps = [later - earlier for earlier, later in itertools.pairwise(slots)]
    # Both limiters took slots, and no two slots anywhere are closer than 1/rate
    # (to the microseconds that seconds since 1970 keep in a double).
    assert all(limiter.slots for limiter in limiters)
    assert min(gaps) >= 1 / rate - 1e-5


def test_a_plan_rolled_back_leaves_no_job_and_metrics_show_the_queue(postgres_url: str) -> None:
    from monitor.settings import WebSettings
    from monitor.task_engine import defer_chunk_on, make_app
    from monitor.users import add_token, add_user
    from web.app import create_app

    add_fleet(postgres_url, 7)
    engine = open_database(postgres_url)
    sessions = session_factory(engine)
    settings = Settings(database_url=postgres_url, web=WebSettings(secret_key="test-key"))
    settings = replace(settings, schedule=replace(settings.schedule, chunk_size=3))
    defer = defer_chunk_on(make_app(settings))
    # The scheduler lost the run (another leader took it over): plan and jobs go together.
    with sessions() as session:
        plan_sweep("auth_sweep", session, T0, settings, defer)
        session.rollback()
    assert query(postgres_url, "SELECT id FROM procrastinate_jobs") == []
    assert query(postgres_url, "SELECT id FROM sweeps") == []
    with sessions.begin() as session:
        plan_sweep("auth_sweep", session, T0, settings, defer)
        token = add_token(session, add_user(session, "ada", "pw-1234567890", "postmaster", T0),
                          "scraper", T0)  # fmt: skip
    jobs = query(postgres_url, "SELECT args FROM procrastinate_jobs ORDER BY id")
    assert [job.args["chunk"] for job in jobs] == [0, 1, 2]
    # The engine's own shell, on the app the settings describe, sees the same queue.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
    shell = subprocess.run(
        [str(Path(sys.executable).with_name("procrastinate")), "--app=monitor.task_engine.app",
         "shell"], input="list_queues\n", capture_output=True, text=True, timeout=60,
        env={**environment, "POSTWARDEN_DATABASE_URL": postgres_url}, check=True,
    )  # fmt: skip
    assert "sweeps: 3 jobs (todo: 3" in shell.stdout, shell.stdout + shell.stderr
    app = create_app(settings, sessions)
    metrics = app.test_client().get(
        "/metrics", headers={"Authorization": f"Bearer {token}"}, base_url="https://localhost"
    )
    text = metrics.get_data(as_text=True)
    assert 'postwarden_engine_jobs{queue="sweeps",status="todo"} 3.0' in text
    assert "postwarden_engine_stalled_jobs 0.0" in text
    assert "postwarden_sweep_chunks_waiting 3.0" in text
    assert "postwarden_sweeps_open 1.0" in text
    app.extensions["postwarden_inbox"].close()
    engine.dispose()
