"""The scheduler survives failing jobs, runs missed jobs once, and runs on one worker only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from checks.zoneserver import ZoneServer
from monitor.jobs import ScheduledJob
from monitor.scheduler import Runtime
from store.engine import session_factory, upgrade_database
from store.models import CheckRun
from store.scheduling import JobRun
from store.timestamps import as_utc
from tests.conftest import postwarden, zone
from tests.keys import rsa_key, txt
from tests.servers import smtp_server
from tests.waiting import eventually

# Fast schedules for worker processes: sweeps every 1.2 s, deliveries every 0.5 s.
FAST = {
    "POSTWARDEN_SCHEDULE_AUTH_MINUTES": "0.02",
    "POSTWARDEN_SCHEDULE_BLOCKLIST_MINUTES": "0.02",
    "POSTWARDEN_SCHEDULE_DELIVER_SECONDS": "0.5",
}


class AlwaysLeader:
    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        return None


def test_a_job_that_raises_is_recorded_and_the_next_run_goes_ahead(engine: Engine) -> None:
    upgrade_database(engine)
    calls: list[datetime] = []

    def flaky(session: Session, now: datetime) -> str:
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("the resolver exploded")
        return "fine"

    runtime = Runtime(
        jobs={"flaky": ScheduledJob("flaky", flaky, timedelta(minutes=1))},
        sessions=session_factory(engine),
        leadership=AlwaysLeader(),
        runner="test:1",
        clock=lambda: datetime(2026, 11, 4, tzinfo=UTC),
    )
    runtime.run("flaky", datetime(2026, 11, 4, tzinfo=UTC))  # must not raise
    runtime.run("flaky", datetime(2026, 11, 4, 0, 1, tzinfo=UTC))
    with session_factory(engine)() as session:
        runs = session.scalars(select(JobRun).order_by(JobRun.id)).all()
        assert [(r.outcome, r.finished_at is not None) for r in runs] == [
            ("failed", True),
            ("ok", True),
        ]
        assert (
            runs[0].detail is not None and "RuntimeError: the resolver exploded" in runs[0].detail
        )
        assert runs[1].detail == "fine"


class Sweep:
    """A job that records one sweep, after waiting for ``go`` (the DNS part, in a sweep)."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.go.set()
        self.started = threading.Event()
        self.calls = 0

    def __call__(self, session: Session, now: datetime) -> str:
        self.calls += 1
        self.started.set()
        assert self.go.wait(30)
        session.add(
            CheckRun(
                started_at=now, finished_at=now, trigger="auth_sweep", status="pass", target_count=1
            )
        )
        return "1 target checked"


def runtime_of(engine: Engine, runner: str, job: Sweep) -> Runtime:
    return Runtime(
        jobs={"auth_sweep": ScheduledJob("auth_sweep", job, timedelta(minutes=30))},
        sessions=session_factory(engine),
        leadership=AlwaysLeader(),
        runner=runner,
        clock=lambda: datetime.now(UTC),
    )


def sweeps_stored(engine: Engine) -> int:
    with session_factory(engine)() as session:
        return len(session.scalars(select(CheckRun)).all())


def test_an_occurrence_runs_once_however_many_schedulers_fire_it(engine: Engine) -> None:
    upgrade_database(engine)
    job = Sweep()
    first, second = runtime_of(engine, "a:1", job), runtime_of(engine, "b:2", job)
    occurrence = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    first.run("auth_sweep", occurrence)
    second.run("auth_sweep", occurrence)  # split brain: both fired 10:00
    assert (job.calls, sweeps_stored(engine)) == (1, 1)
    second.run("auth_sweep", occurrence + timedelta(minutes=30))
    assert (job.calls, sweeps_stored(engine)) == (2, 2)
    runs = job_runs_of(engine)
    assert [(r.runner, r.scheduled_for and as_utc(r.scheduled_for), r.outcome) for r in runs] == [
        ("a:1", occurrence, "ok"),
        ("b:2", occurrence + timedelta(minutes=30), "ok"),
    ]


def test_a_run_taken_over_by_a_new_leader_stores_nothing_and_the_re_run_stores_once(
    engine: Engine,
) -> None:
    """The old leader lost its lock but its sweep goes on; the new leader marks the run
    interrupted and runs it again. The old sweep's late results are discarded."""
    upgrade_database(engine)
    old_job, new_job = Sweep(), Sweep()
    old, new = runtime_of(engine, "old:1", old_job), runtime_of(engine, "new:2", new_job)
    old_job.go.clear()
    running = threading.Thread(
        target=old.run, args=("auth_sweep", datetime(2026, 11, 25, 10, tzinfo=UTC))
    )
    running.start()
    assert old_job.started.wait(30)
    assert new.interrupted() == ["auth_sweep"]
    new.run("auth_sweep", datetime(2026, 11, 25, 10, 0, 7, tzinfo=UTC))
    old_job.go.set()  # the old sweep comes back from DNS and tries to record
    running.join(30)
    assert sweeps_stored(engine) == 1
    assert [(r.runner, r.outcome) for r in job_runs_of(engine)] == [
        ("old:1", "interrupted"),
        ("new:2", "ok"),
    ]


def test_a_run_that_finished_before_the_new_leader_came_is_not_run_again(
    engine: Engine,
) -> None:
    upgrade_database(engine)
    job = Sweep()
    runtime_of(engine, "old:1", job).run("auth_sweep", datetime(2026, 11, 25, 10, tzinfo=UTC))
    assert runtime_of(engine, "new:2", job).interrupted() == []
    assert sweeps_stored(engine) == 1


def job_runs_of(engine: Engine) -> list[JobRun]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(JobRun).order_by(JobRun.id)))


# -- worker processes ---------------------------------------------------------------


def start_worker(url: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).with_name("postwarden")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
    environment.update(FAST, **env)
    with log.open("ab") as sink:
        return subprocess.Popen([str(script), "worker", "--db", url], stderr=sink, env=environment)


def job_runs(url: str) -> list[JobRun]:
    # Asked before the worker made the database, SQLite would create it for this
    # reader (mode 0644), and the next worker would rightly warn that others may read it.
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    engine = sqlalchemy.create_engine(url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(JobRun).order_by(JobRun.id)))
    except sqlalchemy.exc.DBAPIError:
        return []  # the worker has not created the schema yet
    finally:
        engine.dispose()


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'postwarden.db'}"


def test_a_worker_runs_the_schedule_and_stops_cleanly_on_sigterm(
    tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    url = sqlite_url(tmp_path)
    # a broken blocklist catalogue makes every blocklist sweep raise
    workers.append(
        start_worker(url, tmp_path / "log", POSTWARDEN_BLOCKLISTS_CATALOGUE="/nonexistent.toml")
    )
    eventually(
        lambda: sum(r.job == "auth_sweep" and r.outcome == "ok" for r in job_runs(url)) >= 3,
        interval=0.2,
    )
    runs = job_runs(url)
    assert {r.detail for r in runs if r.job == "auth_sweep"} == {"no targets"}
    # A run still going when the rows are read (a loaded machine) has no outcome yet.
    failed = [r for r in runs if r.job == "blocklist_sweep" and r.outcome != "running"]
    assert failed and all(r.outcome == "failed" for r in failed)
    assert "nonexistent.toml" in (failed[0].detail or "")
    workers[0].send_signal(signal.SIGTERM)
    assert workers[0].wait(timeout=30) == 0
    assert all(r.outcome != "running" for r in job_runs(url))
    assert "stopping after running jobs" in (tmp_path / "log").read_text()


def test_a_second_worker_on_sqlite_refuses_to_start(
    tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    url = sqlite_url(tmp_path)
    workers.append(start_worker(url, tmp_path / "first.log"))
    eventually(lambda: bool(job_runs(url)), interval=0.2)
    second = start_worker(url, tmp_path / "second.log")
    workers.append(second)
    assert second.wait(timeout=30) == 3
    message = (tmp_path / "second.log").read_text().strip()
    assert len(message.splitlines()) == 1
    assert message.startswith("postwarden: error: another scheduler (pid ")
    assert message.endswith("(stop it, or use PostgreSQL to run standbys)")


def test_runs_missed_while_stopped_coalesce_into_one(
    tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    url = sqlite_url(tmp_path)
    first = start_worker(url, tmp_path / "log")
    workers.append(first)
    eventually(lambda: any(r.job == "auth_sweep" for r in job_runs(url)), interval=0.2)
    first.send_signal(signal.SIGTERM)
    first.wait(timeout=30)
    stopped = len([r for r in job_runs(url) if r.job == "auth_sweep"])
    time.sleep(5)  # four 1.2 s intervals go by unrun
    workers.append(start_worker(url, tmp_path / "log"))
    eventually(
        lambda: len([r for r in job_runs(url) if r.job == "auth_sweep"]) > stopped, interval=0.2
    )
    # Four runs were missed. Uncoalesced, all four fire at once; coalesced,
    # one does, and in less than one interval at most one more falls due on
    # the trigger's grid.
    time.sleep(0.8)
    assert stopped + 1 <= len([r for r in job_runs(url) if r.job == "auth_sweep"]) <= stopped + 2


def test_two_workers_on_postgresql_never_both_lead(
    database_url: str, tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("standby workers need PostgreSQL")
    workers.append(start_worker(database_url, tmp_path / "a.log"))
    workers.append(start_worker(database_url, tmp_path / "b.log"))
    eventually(lambda: len(job_runs(database_url)) >= 6, interval=0.2)
    leaders = {r.runner for r in job_runs(database_url)}
    assert len(leaders) == 1
    (leader,) = leaders
    pid = int(leader.rsplit(":", 1)[1])
    victim = next(p for p in workers if p.pid == pid)
    victim.kill()
    victim.wait()
    killed_at = datetime.now(UTC)
    survivor = next(p for p in workers if p.pid != pid)
    eventually(lambda: any(r.runner != leader for r in job_runs(database_url)), interval=0.2)
    taken_over = [r for r in job_runs(database_url) if r.runner != leader]
    assert {r.runner.rsplit(":", 1)[1] for r in taken_over} == {str(survivor.pid)}
    # the standby started nothing while the leader lived
    assert min(as_utc(r.started_at) for r in taken_over) >= killed_at - timedelta(seconds=1)


def test_a_running_worker_mails_one_alert_and_one_recovery(
    tmp_path: Path, workers: list[subprocess.Popen[bytes]], dns_server: ZoneServer
) -> None:
    key = "v=DKIM1; k=rsa; p=" + rsa_key(2048)
    records = f"""
shop                 TXT "v=spf1 -all"
shop                 MX  10 mx.shop
mx.shop              A   192.0.2.10
_dmarc.shop          TXT "v=DMARC1; p=reject; rua=mailto:d@shop.example.test"
s1._domainkey.shop   TXT {txt(key)}
"""
    dns_server.set_zone("example.test.", zone(records))
    url = sqlite_url(tmp_path)
    added = postwarden("domains", "add", "shop.example.test", "--selector", "s1", "--db", url)
    assert added.code == 0, added.stderr
    with smtp_server() as mail:
        workers.append(
            start_worker(
                url,
                tmp_path / "log",
                POSTWARDEN_DNS_NAMESERVERS=dns_server.nameserver,
                POSTWARDEN_BLOCKLISTS_ENABLED="false",
                POSTWARDEN_SMTP_HOST="127.0.0.1",
                POSTWARDEN_SMTP_PORT=str(mail.port),
                POSTWARDEN_SMTP_SECURITY="none",
                POSTWARDEN_SMTP_RECIPIENTS="postmaster@example.test",
            )
        )
        sweeps = lambda: sum(r.job == "auth_sweep" and r.outcome == "ok" for r in job_runs(url))  # noqa: E731
        eventually(lambda: sweeps() >= 2, interval=0.2)
        assert mail.mailbox.messages == []
        dns_server.set_zone("example.test.", zone(records.replace(txt(key), '"v=DKIM1; p="')))
        eventually(lambda: len(mail.mailbox.messages) == 1, interval=0.2)
        seen = sweeps()
        eventually(lambda: sweeps() >= seen + 3, interval=0.2)  # still revoked: no second mail
        assert len(mail.mailbox.messages) == 1
        dns_server.set_zone("example.test.", zone(records))
        eventually(lambda: len(mail.mailbox.messages) == 2, interval=0.2)
        assert [m["Subject"] for m in mail.mailbox.messages] == [
            "[Postwarden] FAIL: dkim of shop.example.test",
            "[Postwarden] RESOLVED: dkim of shop.example.test (now pass)",
        ]
        listed = postwarden("alerts", "list", "--all", "--db", url, "--format", "json")
        (alert,) = listed.json()
        assert (alert["check"], alert["state"]) == ("dkim", "resolved")


def test_a_job_whose_worker_is_killed_mid_run_is_run_again_once_by_the_next_leader(
    tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    key = "v=DKIM1; k=rsa; p=" + rsa_key(2048)
    records = f"""
shop                 TXT "v=spf1 -all"
shop                 MX  10 mx.shop
mx.shop              A   192.0.2.10
_dmarc.shop          TXT "v=DMARC1; p=reject"
s1._domainkey.shop   TXT {txt(key)}
"""
    url = sqlite_url(tmp_path)
    assert (
        postwarden("domains", "add", "shop.example.test", "--selector", "s1", "--db", url).code == 0
    )
    # Every answer takes a second: the sweep is still running when its worker is killed.
    with ZoneServer({"example.test.": zone(records)}, delay=1.0) as dns:
        env = {
            "POSTWARDEN_DNS_NAMESERVERS": dns.nameserver,
            "POSTWARDEN_DNS_TIMEOUT": "5",
            "POSTWARDEN_BLOCKLISTS_ENABLED": "false",
            # Next regular sweep in an hour: a second sweep soon can only be the re-run.
            "POSTWARDEN_SCHEDULE_AUTH_MINUTES": "60",
        }
        first = start_worker(url, tmp_path / "a.log", **env)
        workers.append(first)
        sweeps = lambda: [r for r in job_runs(url) if r.job == "auth_sweep"]  # noqa: E731
        eventually(lambda: any(r.outcome == "running" for r in sweeps()), interval=0.2)
        first.kill()
        first.wait()
        workers.append(start_worker(url, tmp_path / "b.log", **env))
        eventually(lambda: any(r.outcome == "ok" for r in sweeps()), interval=0.2)
        time.sleep(1.5)  # room for a duplicate to show itself
    runs = sweeps()
    assert [r.outcome for r in runs] == ["interrupted", "ok"]
    assert runs[0].runner.endswith(f":{first.pid}") and "runs it again" in (runs[0].detail or "")
    # Each run knows the occurrence APScheduler fired it for, a moment before it started.
    assert all(r.scheduled_for and r.scheduled_for < r.started_at for r in runs)
    # The killed sweep kept nothing; the re-run recorded one sweep of the domain.
    engine = sqlalchemy.create_engine(url)
    with Session(engine) as session:
        triggers = session.scalars(select(CheckRun.trigger)).all()
    engine.dispose()
    assert triggers == ["auth_sweep"]
