"""DMARC: rules of DESIGN.md "Checks", on literal facts and over real DNS."""

from __future__ import annotations

import pytest

from checks.dmarc import DmarcFacts, evaluate_dmarc
from checks.dns import DnsFailure
from checks.results import DmarcResult
from checks.zoneserver import ZoneServer
from tests.conftest import check, check_of, zone


def codes(result) -> list[str]:
    return [f.code for f in result.findings]


def facts(record: str, **tags: str) -> DmarcFacts:
    return DmarcFacts(record=record, location="example.com", tags=tags)


def test_reject_with_reports_passes() -> None:
    result = evaluate_dmarc(
        "example.com",
        facts(
            "v=DMARC1; p=reject; rua=mailto:d@example.com", p="reject", rua="mailto:d@example.com"
        ),
    )
    assert (result.status, codes(result), result.policy) == ("pass", [], "reject")


def test_p_none_warns() -> None:
    result = evaluate_dmarc(
        "example.com", facts("v=DMARC1; p=none", p="none", rua="mailto:x@example.com")
    )
    assert (result.status, codes(result)) == ("warn", ["DMARC_POLICY_NONE"])


def test_testing_mode_and_partial_pct_warn() -> None:
    result = evaluate_dmarc(
        "example.com",
        facts("v=DMARC1; p=reject; t=y; pct=50", p="reject", t="y", pct="50", rua="mailto:a@b.c"),
    )
    assert set(codes(result)) == {"DMARC_TESTING", "DMARC_PARTIAL_PCT"}


def test_missing_reports_is_only_information() -> None:
    result = evaluate_dmarc("example.com", facts("v=DMARC1; p=reject", p="reject"))
    assert result.status == "pass"
    assert codes(result) == ["DMARC_NO_REPORTS"]


def test_a_dns_failure_is_error_not_missing() -> None:
    result = evaluate_dmarc(
        "example.com",
        DmarcFacts(
            problem="missing", failures=(DnsFailure("_dmarc.example.com", "TXT", "SERVFAIL"),)
        ),
    )
    assert (result.status, codes(result)) == ("error", ["DNS_LOOKUP_FAILED"])


DMARC_ZONE = zone(
    """
_dmarc.reject     TXT "v=DMARC1; p=reject; rua=mailto:dmarc@reject.example.test"
_dmarc.quarantine TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@quarantine.example.test"
_dmarc.monitor    TXT "v=DMARC1; p=none; rua=mailto:dmarc@monitor.example.test"
_dmarc.twice      TXT "v=DMARC1; p=reject"
_dmarc.twice      TXT "v=DMARC1; p=none"
_dmarc.garbled    TXT "v=DMARC1; p=sometimes"
_dmarc.external   TXT "v=DMARC1; p=reject; rua=mailto:reports@reports.example.net"
_dmarc.authorised TXT "v=DMARC1; p=reject; rua=mailto:reports@reports.example.net"
_dmarc.opensubs   TXT "v=DMARC1; p=reject; sp=none; rua=mailto:d@opensubs.example.test"
_dmarc.opennx     TXT "v=DMARC1; p=reject; np=none; rua=mailto:d@opennx.example.test"
_dmarc.half       TXT "v=DMARC1; p=quarantine; pct=50; rua=mailto:d@half.example.test"
_dmarc.noreports  TXT "v=DMARC1; p=reject"
_dmarc.trying     TXT "v=DMARC1; p=reject; t=y; rua=mailto:d@trying.example.test"
reject MX 10 mx
quarantine MX 10 mx
monitor MX 10 mx
opensubs MX 10 mx
opennx MX 10 mx
half MX 10 mx
trying MX 10 mx
mx A 192.0.2.25
"""
)
REPORTS_ZONE = zone(
    """
@ MX 10 mx
mx A 192.0.2.26
authorised.example.test._report._dmarc TXT "v=DMARC1"
"""
)


@pytest.fixture
def dmarc_dns(dns_server: ZoneServer) -> ZoneServer:
    dns_server.set_zone("example.test.", DMARC_ZONE)
    dns_server.set_zone("reports.example.net.", REPORTS_ZONE)
    return dns_server


def dmarc_of(server: ZoneServer, name: str):
    return check_of(check(server, f"{name}.example.test")[0], "dmarc", DmarcResult)


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("reject", "pass", None),
        ("quarantine", "pass", None),
        ("monitor", "warn", "DMARC_POLICY_NONE"),
        ("twice", "fail", "DMARC_MULTIPLE_RECORDS"),
        ("garbled", "fail", "DMARC_SYNTAX_ERROR"),
        ("nothing", "fail", "DMARC_MISSING"),
        ("external", "warn", "DMARC_RUA_UNAUTHORIZED"),
        ("authorised", "pass", None),
        ("opensubs", "warn", "DMARC_SUBDOMAIN_POLICY_NONE"),
        ("opennx", "warn", "DMARC_SUBDOMAIN_POLICY_NONE"),
        ("half", "warn", "DMARC_PARTIAL_PCT"),
        ("noreports", "pass", "DMARC_NO_REPORTS"),
        ("trying", "warn", "DMARC_TESTING"),
    ],
)
def test_it_judges_each_rule_over_dns(
    dmarc_dns: ZoneServer, name: str, status: str, code: str | None
) -> None:
    result = dmarc_of(dmarc_dns, name)
    assert result.status == status, result.findings
    if code:
        assert code in codes(result)


def test_it_reports_the_record_and_policy(dmarc_dns: ZoneServer) -> None:
    result = dmarc_of(dmarc_dns, "monitor")
    assert result.record == "v=DMARC1; p=none; rua=mailto:dmarc@monitor.example.test"
    assert result.policy == "none"
    assert result.rua == ("mailto:dmarc@monitor.example.test",)


def test_a_subdomain_inherits_the_organisational_record(dns_server: ZoneServer) -> None:
    dns_server.set_zone(
        "example.com.",
        zone(
            '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"\n'
            "@ MX 10 mx\nmx A 192.0.2.1\nnews MX 10 mx\n"
        ),
    )
    result = check_of(check(dns_server, "news.example.com")[0], "dmarc", DmarcResult)
    assert result.status == "pass"
    assert result.location == "example.com"
    assert "DMARC_FOUND_AT_ORGANIZATIONAL_DOMAIN" in codes(result)


def test_servfail_at_dmarc_is_error(dmarc_dns: ZoneServer) -> None:
    dmarc_dns.set_fault("_dmarc.reject.example.test", "servfail")
    result = dmarc_of(dmarc_dns, "reject")
    assert result.status == "error"
    assert "DMARC_MISSING" not in codes(result)


def test_each_finding_is_reported_once(dmarc_dns: ZoneServer) -> None:
    # checkdmarc words some of our findings as warnings of its own
    for name in ("monitor", "opensubs", "half", "noreports"):
        found = codes(dmarc_of(dmarc_dns, name))
        assert "DMARC_WARNING" not in found, (name, found)
        assert len(found) == len(set(found)), (name, found)


def test_it_reports_the_subdomain_policies(dmarc_dns: ZoneServer) -> None:
    result = dmarc_of(dmarc_dns, "opennx")
    assert (result.policy, result.subdomain_policy, result.nonexistent_subdomain_policy) == (
        "reject",
        "reject",
        "none",
    )
    assert dmarc_of(dmarc_dns, "trying").testing is True
