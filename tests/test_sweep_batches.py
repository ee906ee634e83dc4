"""A sweep's memory does not grow with the fleet: batches, a releasing cache, spooled results.

Against a real DNS server on loopback and real databases (SQLite and
PostgreSQL): the scheduler's own sweep job, in batches of two targets.
"""

from __future__ import annotations

import gc
import importlib
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import pytest
from sqlalchemy import Engine, event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

import monitor.jobs
import monitor.sweep_batches
from checks.dns import DnsSettings, DnsSweep, parse_nameserver
from checks.dns_cache import cache_key
from checks.findings import finding
from checks.results import SpfResult, TargetResult
from checks.sweep import check_targets
from checks.targets import Target, parse_target
from checks.zoneserver import ZoneServer
from monitor.jobs import sweep_authentication, sweep_blocklists
from monitor.output import echo_results, exit_code, render_json, render_table
from monitor.settings import AlertSettings, BlocklistSettings, Settings
from monitor.sweep_batches import slices, sweep_in_batches
from monitor.targets import add_domain
from store.alerting import Alert
from store.engine import session_factory, upgrade_database
from store.models import CheckRecord, CheckRun, Domain, TargetStatus
from tests.conftest import postwarden, zone
from tests.keys import rsa_key, txt

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SHOPS = 7
KEY = txt("v=DKIM1; k=rsa; p=" + rsa_key(2048))


def fleet_zone() -> str:
    lines = ['_spf.esp TXT "v=spf1 ip4:198.51.100.0/24 -all"']
    for n in range(SHOPS):
        lines += [
            f'shop{n} TXT "v=spf1 include:_spf.esp.example.test -all"',
            f"shop{n} MX 10 mx.shop{n}",
            f"mx.shop{n} A 192.0.2.{n + 1}",
            f'_dmarc.shop{n} TXT "v=DMARC1; p=reject; rua=mailto:d@shop{n}.example.test"',
            f"s1._domainkey.shop{n} TXT {KEY}",
        ]
    return zone("\n".join(lines))


def policy_zone() -> str:
    """Two domains whose only problem is a warning: DMARC p=none."""
    lines = []
    for name in ("loud", "quiet"):
        lines += [
            f'{name} TXT "v=spf1 ip4:198.51.100.0/24 -all"',
            f"{name} MX 10 mx.{name}",
            f"mx.{name} A 192.0.2.1",
            f'_dmarc.{name} TXT "v=DMARC1; p=none; rua=mailto:d@{name}.policy.test"',
            f"s1._domainkey.{name} TXT {KEY}",
        ]
    return zone("\n".join(lines))


@pytest.fixture
def fleet(dns_server: ZoneServer) -> ZoneServer:
    dns_server.set_zone("example.test.", fleet_zone())
    dns_server.set_zone("bl.example.test.", zone("2.0.0.127 A 127.0.0.2"))
    dns_server.set_zone("dbl.example.test.", zone("test A 127.0.0.2"))
    return dns_server


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    upgrade_database(engine)
    return session_factory(engine)


def test_batches_share_an_include_and_let_go_of_each_targets_records(fleet: ZoneServer) -> None:
    sweep = DnsSweep(DnsSettings((parse_nameserver(fleet.nameserver),), timeout=1))
    targets = [parse_target(f"shop{n}.example.test", ("s1",)) for n in range(SHOPS)]
    released: list[int] = []
    spool = sweep_in_batches(
        slices(targets, 2),
        lambda batch: check_targets(batch, sweep=sweep),
        after_batch=lambda: released.append(sweep.cache.release_unshared()),
    )
    results = [result for batch in spool.read() for result in batch]
    spool.close()
    assert [r.target for r in results] == [t.name for t in targets]
    assert {r.status for r in results} == {"pass"}, [r.checks for r in results]
    # One lookup of the shared include for the whole sweep, not one per batch.
    assert fleet.log[("_spf.esp.example.test.", "TXT")] == 1
    # Each batch let go of its own targets' records; the include stayed.
    assert len(released) == 4 and all(count > 0 for count in released)
    assert sweep.cache.get(cache_key("_spf.esp.example.test", 16)) is not None
    assert sweep.cache.get(cache_key("s1._domainkey.shop0.example.test", 16)) is None
    assert sweep.cache.get(cache_key("mx.shop0.example.test", 1)) is None


def test_a_batched_sweep_records_every_target_in_one_run(
    fleet: ZoneServer, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(monitor.sweep_batches, "BATCH_SIZE", 2)
    settings = Settings(
        dns=DnsSettings((parse_nameserver(fleet.nameserver),), timeout=1),
        blocklists=BlocklistSettings(
            zones=("bl.example.test",), domain_zones=("dbl.example.test",), queries_per_second=0
        ),
    )
    with sessions.begin() as session:
        for n in range(SHOPS):
            add_domain(session, f"shop{n}.example.test", T0, selectors=["s1"])
    for job in (sweep_authentication, sweep_blocklists):
        with sessions() as session:
            outcome = job(session, T0, settings)
            session.commit()
        assert outcome.startswith(f"{SHOPS} targets checked"), outcome
    assert fleet.log[("_spf.esp.example.test.", "TXT")] == 1
    with sessions() as session:
        runs = list(session.scalars(select(CheckRun).order_by(CheckRun.id)))
        assert [(r.trigger, r.target_count, r.status) for r in runs] == [
            ("auth_sweep", SHOPS, "pass"),
            ("blocklist_sweep", SHOPS, "pass"),
        ]
        records = session.scalar(select(func.count()).select_from(CheckRecord))
        assert records == SHOPS * 5  # spf, dmarc, dkim, mx, blocklists
        statuses = session.scalars(select(TargetStatus.status).distinct())
        assert list(statuses) == ["pass"]


def test_a_sweep_reads_its_targets_a_batch_at_a_time(
    fleet: ZoneServer, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job holds one batch of the fleet while it is out on DNS, not the whole list;
    paused targets are left out; each target's own alert_on_warn is followed."""
    monkeypatch.setattr(monitor.sweep_batches, "BATCH_SIZE", 2)
    names = [f"shop{n}.example.test" for n in range(SHOPS)]
    with sessions.begin() as session:
        for name in names:
            add_domain(session, name, T0, selectors=["s1"])
        # p=none is a warning: it alerts only for the domain that asks for it.
        fleet.set_zone("policy.test.", policy_zone())
        add_domain(session, "loud.policy.test", T0, selectors=["s1"], alert_on_warn=True)
        add_domain(session, "quiet.policy.test", T0, selectors=["s1"])
        add_domain(session, "paused.example.test", T0)
        paused = update(Domain).where(Domain.name == "paused.example.test")
        session.execute(paused.values(paused=True))
    checked: list[tuple[list[str], int]] = []
    real_check = check_targets

    def counting(batch: Sequence[Target], **options: Any) -> list[TargetResult]:
        held = sum(isinstance(item, Target) for item in gc.get_objects())
        checked.append(([target.name for target in batch], held))
        return real_check(batch, **options)

    monkeypatch.setattr(monitor.jobs, "check_targets", counting)
    settings = Settings(
        dns=DnsSettings((parse_nameserver(fleet.nameserver),), timeout=1),
        alerts=AlertSettings(confirmations=1),
    )
    with sessions() as session:
        outcome = sweep_authentication(session, T0, settings)
        session.commit()
    assert outcome == f"{SHOPS + 2} targets checked, 1 alert transitions"
    wanted = sorted([*names, "loud.policy.test", "quiet.policy.test"])
    assert [batch for batch, _ in checked] == [wanted[i : i + 2] for i in range(0, len(wanted), 2)]
    # Two targets of the fleet in memory at a time (before, all nine from the start).
    assert max(held for _, held in checked) <= 2, checked
    with sessions() as session:
        alerts = session.execute(select(Alert.target, Alert.check, Alert.state)).all()
    assert [tuple(alert) for alert in alerts] == [("loud.policy.test", "dmarc", "open")]


@contextmanager
def flushes(names: Iterable[str]) -> Iterator[list[tuple[int, int]]]:
    """At each flush of any session: the check results it writes, and how many results
    of ``names`` the process holds (the results a sweep keeps in memory then)."""
    watched = set(names)
    seen: list[tuple[int, int]] = []

    def before_flush(session: Session, *_: object) -> None:
        written = sum(isinstance(row, CheckRecord) for row in session.new)
        held = sum(
            isinstance(item, TargetResult) and item.target in watched for item in gc.get_objects()
        )
        seen.append((written, held))

    event.listen(Session, "before_flush", before_flush)
    try:
        yield seen
    finally:
        event.remove(Session, "before_flush", before_flush)


def test_check_save_writes_and_holds_one_batch_of_results_at_a_time(
    fleet: ZoneServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importlib.import_module("monitor.cli.check"), "CHECK_BATCH_SIZE", 2)
    names = [f"shop{n}.example.test" for n in range(SHOPS)]
    with flushes(names) as seen:
        result = postwarden(
            "check", *names, "--selector", "s1", "--no-blocklists", "--nameserver",
            fleet.nameserver, "--format", "json", "--save", "--db", f"sqlite:///{tmp_path}/pw.db",
        )  # fmt: skip
    assert result.code == 0, result.stderr
    assert [item["target"] for item in result.json()] == names
    written = [count for count, _ in seen if count]
    # Every result recorded, two targets' four checks at a time...
    assert sum(written) == SHOPS * 4 and max(written) == 2 * 4, seen
    # ... while the process held no more than those two targets' results.
    assert max(held for _, held in seen) <= 2, seen
    assert fleet.log[("_spf.esp.example.test.", "TXT")] == 1


def _result(name: str, status: str) -> TargetResult:
    findings = () if status == "pass" else (finding("DNS_LOOKUP_FAILED", f"{name} TXT: timeout"),)
    return TargetResult(name, "domain", {"spf": SpfResult(findings=findings, record="v=spf1 -all")})


@pytest.mark.parametrize("output_format", ["json", "table"])
def test_results_printed_batch_by_batch_read_as_all_at_once(
    output_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    batches = [
        [_result("a.test", "pass"), _result("b.test", "error")],
        [],
        [_result("c.test", "pass")],
    ]
    code = echo_results(iter(batches), output_format)
    everything = [result for batch in batches for result in batch]
    render = render_json if output_format == "json" else render_table
    # click.echo drops the colours when the output is not a terminal.
    assert capsys.readouterr().out == click.unstyle(render(everything)) + "\n"
    assert code == exit_code(everything) == 3


def test_no_results_print_an_empty_array(capsys: pytest.CaptureFixture[str]) -> None:
    assert echo_results(iter([]), "json") == 0
    assert json.loads(capsys.readouterr().out) == []
