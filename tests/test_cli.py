"""`postwarden check` as a user runs it: the console script, its JSON, its exit codes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy

from checks.findings import CATALOGUE
from checks.zoneserver import ZoneServer
from tests.conftest import postwarden, postwarden_process, zone
from tests.keys import rsa_key, txt

DOMAIN_CHECKS = {"spf", "dmarc", "dkim", "mx", "blocklists"}
IP_CHECKS = {"ptr", "blocklists"}


@pytest.fixture
def world(dns_server: ZoneServer) -> ZoneServer:
    dns_server.set_zone(
        "example.test.",
        zone(
            f"""
healthy                TXT "v=spf1 mx -all"
healthy                MX  10 mx
_dmarc.healthy         TXT "v=DMARC1; p=reject; rua=mailto:d@healthy.example.test"
s1._domainkey.healthy  TXT {txt("v=DKIM1; k=rsa; p=" + rsa_key(2048))}
monitor                TXT "v=spf1 mx -all"
monitor                MX  10 mx
_dmarc.monitor         TXT "v=DMARC1; p=none; rua=mailto:d@monitor.example.test"
s1._domainkey.monitor  TXT {txt("v=DKIM1; k=rsa; p=" + rsa_key(2048))}
open                   TXT "v=spf1 +all"
mx                     A   192.0.2.10
"""
        ),
    )
    dns_server.set_zone("2.0.192.in-addr.arpa.", zone("10 PTR mx.example.test."))
    dns_server.set_zone(
        "bl.example.test.",
        zone('2.0.0.127 A 127.0.0.2\n66.2.0.192 A 127.0.0.2\n66.2.0.192 TXT "seen at a trap"'),
    )
    dns_server.set_zone("dbl.example.test.", zone("test A 127.0.0.2"))
    dns_server.set_fault("broken.example.test", "servfail")
    return dns_server


def run_check(server: ZoneServer, *args: str):
    return postwarden(
        "check",
        *args,
        "--nameserver",
        server.nameserver,
        "--timeout",
        "1",
        "--zone",
        "bl.example.test",
        "--domain-zone",
        "dbl.example.test",
    )


def test_json_follows_the_contract(world: ZoneServer) -> None:
    result = run_check(
        world, "healthy.example.test", "192.0.2.10", "--selector", "s1", "--format", "json"
    )
    assert result.code == 0, result.stderr
    domain, ip = result.json()
    assert (domain["target"], domain["kind"], domain["status"]) == (
        "healthy.example.test",
        "domain",
        "pass",
    )
    assert set(domain["checks"]) == DOMAIN_CHECKS
    spf = domain["checks"]["spf"]
    assert {"status", "findings", "record", "dns_lookups", "void_lookups"} <= set(spf)
    assert {"status", "findings", "record", "policy"} <= set(domain["checks"]["dmarc"])
    selector = domain["checks"]["dkim"]["selectors"]["s1"]
    assert (selector["status"], selector["key_type"], selector["key_bits"]) == ("pass", "rsa", 2048)
    assert domain["checks"]["mx"]["hosts"] == ["mx.example.test"]
    assert (ip["kind"], ip["checks"]["ptr"]["hostnames"], ip["checks"]["ptr"]["fcrdns"]) == (
        "ip",
        ["mx.example.test"],
        True,
    )
    assert set(ip["checks"]) == IP_CHECKS
    blocklists = ip["checks"]["blocklists"]
    assert {"status", "findings", "listings", "unhealthy_zones"} <= set(blocklists)
    assert blocklists["listings"][0]["zone"] == "bl.example.test"
    assert {"zone", "listed", "codes", "reason"} <= set(blocklists["listings"][0])


def test_findings_carry_code_level_message_and_fix(world: ZoneServer) -> None:
    result = run_check(world, "monitor.example.test", "--selector", "s1", "--format", "json")
    finding = result.json()[0]["checks"]["dmarc"]["findings"][0]
    assert set(finding) == {"code", "level", "message", "fix"}
    assert (finding["code"], finding["level"]) == ("DMARC_POLICY_NONE", "warn")


@pytest.mark.parametrize(
    ("targets", "code"),
    [
        (["healthy.example.test"], 0),
        (["monitor.example.test"], 1),
        (["open.example.test"], 2),
        (["broken.example.test"], 3),
        # fail outranks error: a failing and an undeterminable target exit 2
        (["broken.example.test", "open.example.test"], 2),
    ],
)
def test_exit_codes_follow_the_monitoring_plugin_convention(
    world: ZoneServer, targets: list[str], code: int
) -> None:
    result = run_check(world, *targets, "--selector", "s1", "--format", "json")
    assert result.code == code, result.stdout


def test_a_servfail_is_reported_as_error_with_the_failing_name(world: ZoneServer) -> None:
    result = run_check(world, "broken.example.test", "--format", "json")
    checks = result.json()[0]["checks"]
    assert {name: c["status"] for name, c in checks.items()} == {
        "spf": "error",
        "dmarc": "error",
        "dkim": "error",
        "mx": "error",
        "blocklists": "pass",
    }
    assert "broken.example.test" in checks["spf"]["findings"][0]["message"]
    assert "SERVFAIL" in checks["spf"]["findings"][0]["message"]


def test_the_table_has_one_line_per_check(world: ZoneServer) -> None:
    result = run_check(world, "monitor.example.test", "--selector", "s1")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("WARN") and "monitor.example.test" in lines[0]
    assert len(lines) == 1 + len(DOMAIN_CHECKS)
    assert any("DMARC_POLICY_NONE" in line for line in lines)
    assert "\x1b[" not in result.stdout  # no colour when not on a terminal


def test_an_ipv6_nameserver_works(dns_server: ZoneServer) -> None:
    with ZoneServer({"example.test.": zone('open TXT "v=spf1 +all"')}, host="::1") as server:
        assert server.nameserver.startswith("[::1]:")
        result = postwarden(
            "check",
            "open.example.test",
            "--nameserver",
            server.nameserver,
            "--format",
            "json",
            "--no-blocklists",
        )
    assert result.json()[0]["checks"]["spf"]["record"] == "v=spf1 +all"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "not a domain"], "not a domain name or IP address"),
        (["check", "example.com", "--nameserver", "ns1.example.com"], "is not an IP address"),
        (["check", "example.com", "--nameserver", "127.0.0.1:70000"], "port"),
        (["check", "example.com", "--selector", "bad selector"], "not a valid DKIM selector"),
        (["check"], "Missing argument"),
        (["check", "example.com", "--format", "xml"], "xml"),
        (["check", "192.0.2.1", "--save", "--db", "nosuch://x"], "database error: nosuch://x"),
        (["check", "192.0.2.1", "--no-blocklists", "--zone", "bl.test"], "cannot be combined"),
        (["check", "192.0.2.1", "--zone", "abusix-combined"], "only be queried with a key"),
        (["check", "192.0.2.1", "--zone", "dbl.spamhaus.org"], "give it with --domain-zone"),
        (
            ["check", "192.0.2.1", "--save", "--db", "postgresql+psycopg://u:secret@127.0.0.1:1/x"],
            "postgresql+psycopg://u:***@127.0.0.1:1/x: connection failed",
        ),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_3(args: list[str], message: str) -> None:
    result = postwarden(*args)
    assert result.code == 3
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_config_file_is_named_in_the_error(tmp_path: Path) -> None:
    config = tmp_path / "postwarden.toml"
    config.write_text("[dns]\ntimeout = -1\n")
    result = postwarden("check", "example.com", "--config", str(config))
    assert result.code == 3
    assert f"{config}: dns.timeout: must be greater than 0" in result.stderr


def test_the_nameserver_can_come_from_the_environment(world: ZoneServer) -> None:
    result = postwarden(
        "check",
        "open.example.test",
        "--format",
        "json",
        "--no-blocklists",
        env={"POSTWARDEN_DNS_NAMESERVERS": world.nameserver},
    )
    assert result.json()[0]["checks"]["spf"]["status"] == "fail"


def test_save_records_history_and_latest_status(world: ZoneServer, tmp_path: Path) -> None:
    db = tmp_path / "pw.db"
    for _ in range(2):
        result = run_check(
            world,
            "monitor.example.test",
            "192.0.2.10",
            "--selector",
            "s1",
            "--save",
            "--db",
            f"sqlite:///{db}",
        )
        assert result.code == 1, result.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from check_runs").fetchone() == (2,)
        rows = conn.execute(
            'select target, "check", status from check_results where run_id = 2 order by 1, 2'
        ).fetchall()
        assert rows == [
            ("192.0.2.10", "blocklists", "pass"),
            ("192.0.2.10", "ptr", "pass"),
            ("monitor.example.test", "blocklists", "pass"),
            ("monitor.example.test", "dkim", "pass"),
            ("monitor.example.test", "dmarc", "warn"),
            ("monitor.example.test", "mx", "pass"),
            ("monitor.example.test", "spf", "pass"),
        ]
        latest = conn.execute(
            "select status, last_run_id from target_status where \"check\" = 'dmarc'"
        ).fetchone()
        assert latest == ("warn", 2)
        assert conn.execute("pragma journal_mode").fetchone() == ("wal",)


def test_save_works_on_every_database(world: ZoneServer, database_url: str) -> None:
    for _ in range(2):
        result = run_check(world, "open.example.test", "--save", "--db", database_url)
        assert result.code == 2, result.stderr
    engine = sqlalchemy.create_engine(database_url)
    with engine.connect() as connection:
        runs = connection.execute(sqlalchemy.text("select count(*) from check_runs")).scalar()
        latest = connection.execute(
            sqlalchemy.text("select status, last_run_id from target_status where \"check\" = 'spf'")
        ).one()
    engine.dispose()
    assert (runs, tuple(latest)) == (2, ("fail", 2))


def test_findings_lists_the_whole_catalogue() -> None:
    result = postwarden("findings", "--format", "json")
    assert result.code == 0
    listed = {item["code"]: item for item in result.json()}
    assert set(listed) == set(CATALOGUE)
    assert listed["DKIM_KEY_REVOKED"]["level"] == "fail"
    assert all(item["fix"] and item["title"] for item in listed.values())
    table = postwarden("findings").stdout
    assert "SPF_TOO_MANY_LOOKUPS" in table and "fix:" in table


# Most tests run the command line in-process (tests.conftest.postwarden); these run the
# installed console script, as Nagios does: its own process, its exit code, its stderr.
@pytest.mark.slow
def test_the_installed_script_checks_and_exits_by_the_worst(world: ZoneServer) -> None:
    result = postwarden_process(
        "check", "monitor.example.test", "--selector", "s1", "--no-blocklists",
        "--nameserver", world.nameserver, "--format", "json",
    )  # fmt: skip
    assert result.code == 1, result.stderr
    assert result.json()[0]["status"] == "warn"


@pytest.mark.slow
def test_the_installed_script_says_bad_input_in_one_line_and_exits_3() -> None:
    result = postwarden_process("check", "192.0.2.1", "--save", "--db", "nosuch://x")
    assert result.code == 3
    assert result.stderr.strip().splitlines() == [
        "postwarden: database error: nosuch://x: Can't load plugin: sqlalchemy.dialects:nosuch"
    ]
