"""Managing monitored targets and alerts from the command line."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from store.alerting import Alert
from store.engine import session_factory, upgrade_database
from tests.conftest import postwarden


def test_domains_and_ips_are_added_listed_and_removed(database_url: str) -> None:
    db = ("--db", database_url)
    assert postwarden("domains", "add", "Shop.Example.COM.", "--selector", "s1", *db).code == 0
    # adding again updates the selectors and options instead of duplicating
    again = postwarden(
        "domains", "add", "shop.example.com", "--selector", "s2", "--alert-on-warn", *db
    )
    assert again.stdout.strip() == "monitoring shop.example.com"
    assert postwarden("ips", "add", "192.0.2.10", "2001:DB8::1", *db).code == 0
    domains = postwarden("domains", "list", "--format", "json", *db).json()
    assert [(d["name"], d["selectors"], d["alert_on_warn"]) for d in domains] == [
        ("shop.example.com", ["s2"], True)
    ]
    assert [i["name"] for i in postwarden("ips", "list", "--format", "json", *db).json()] == [
        "192.0.2.10",
        "2001:db8::1",
    ]
    assert postwarden("ips", "remove", "192.0.2.10", *db).code == 0
    assert "192.0.2.10" not in postwarden("ips", "list", *db).stdout


def test_bad_targets_are_one_line_errors(database_url: str) -> None:
    db = ("--db", database_url)
    for args, message in [
        (("domains", "add", "not a domain"), "not a domain name or IP address"),
        (("ips", "add", "example.com"), "is not an IP address"),
        (("domains", "remove", "never.example"), "never.example is not monitored"),
        (("domains", "add", "a.example", "--selector", "bad one"), "not a valid DKIM selector"),
    ]:
        result = postwarden(*args, *db)
        assert result.code == 3, args
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_alerts_are_listed_with_a_monitoring_exit_code_and_acknowledged(
    engine: Engine, database_url: str
) -> None:
    upgrade_database(engine)
    with session_factory(engine).begin() as session:
        session.add(
            Alert(
                target="shop.example.com",
                kind="domain",
                check="dkim",
                problem="degraded",
                severity="fail",
                state="open",
                summary="DKIM_KEY_REVOKED: the key at s1._domainkey.shop.example.com is revoked.",
                codes=["DKIM_KEY_REVOKED"],
                opened_at=datetime(2026, 11, 5, tzinfo=UTC),
            )
        )
    listed = postwarden("alerts", "list", "--db", database_url)
    assert listed.code == 2
    assert "FAIL  dkim" in listed.stdout and "DKIM_KEY_REVOKED" in listed.stdout
    acked = postwarden("alerts", "ack", "1", "--by", "alice", "--db", database_url)
    assert acked.stdout.strip() == "alert 1 acknowledged by alice"
    (alert,) = postwarden("alerts", "list", "--format", "json", "--db", database_url).json()
    assert (alert["acknowledged_by"], alert["state"]) == ("alice", "open")
    missing = postwarden("alerts", "ack", "99", "--db", database_url)
    assert (missing.code, "no alert 99" in missing.stderr) == (3, True)
