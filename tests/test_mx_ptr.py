"""MX (bounces must be deliverable) and PTR with forward confirmation."""

from __future__ import annotations

import pytest

from checks.dns import DnsFailure
from checks.mx import MxFacts, evaluate_mx
from checks.ptr import PtrFacts, evaluate_ptr
from checks.results import MxResult, PtrResult
from checks.zoneserver import ZoneServer
from tests.conftest import check, check_of, zone


def codes(result) -> list[str]:
    return [f.code for f in result.findings]


def test_mx_rules_on_literal_facts() -> None:
    good = evaluate_mx("e.com", MxFacts([(10, "mx.e.com")], {"mx.e.com": ["192.0.2.1"]}))
    assert (good.status, good.hosts) == ("pass", ("mx.e.com",))
    assert codes(evaluate_mx("e.com", MxFacts())) == ["MX_MISSING"]
    assert codes(evaluate_mx("e.com", MxFacts(fallback_addresses=["192.0.2.1"]))) == ["MX_IMPLICIT"]
    assert codes(evaluate_mx("e.com", MxFacts([(0, "")]))) == ["MX_NULL"]
    half = MxFacts([(10, "a.e.com"), (20, "b.e.com")], {"a.e.com": ["192.0.2.1"], "b.e.com": []})
    assert (evaluate_mx("e.com", half).status, codes(evaluate_mx("e.com", half))) == (
        "warn",
        ["MX_HOST_UNRESOLVABLE"],
    )
    dead = MxFacts([(10, "a.e.com")], {"a.e.com": []})
    assert codes(evaluate_mx("e.com", dead)) == ["MX_NO_RESOLVABLE_HOST"]
    failed = MxFacts(failures=[DnsFailure("e.com", "MX", "timeout")])
    assert evaluate_mx("e.com", failed).status == "error"


def test_ptr_rules_on_literal_facts() -> None:
    ok = evaluate_ptr("192.0.2.1", PtrFacts(["mail.e.com"], {"mail.e.com": ["192.0.2.1"]}))
    assert (ok.status, ok.fcrdns) == ("pass", True)
    assert codes(evaluate_ptr("192.0.2.1", PtrFacts())) == ["PTR_MISSING"]
    wrong = evaluate_ptr("192.0.2.1", PtrFacts(["mail.e.com"], {"mail.e.com": ["192.0.2.9"]}))
    assert (wrong.status, wrong.fcrdns, codes(wrong)) == (
        "fail",
        False,
        ["PTR_NOT_FORWARD_CONFIRMED"],
    )
    v6 = evaluate_ptr("2001:db8::1", PtrFacts(["m.e.com"], {"m.e.com": ["2001:db8:0::1"]}))
    assert v6.fcrdns is True
    unknown = evaluate_ptr(
        "192.0.2.1", PtrFacts(failures=[DnsFailure("1.2.0.192.in-addr.arpa", "PTR", "SERVFAIL")])
    )
    assert (unknown.status, unknown.fcrdns) == ("error", None)


@pytest.fixture
def mail_dns(dns_server: ZoneServer) -> ZoneServer:
    dns_server.set_zone(
        "example.test.",
        zone(
            """
good       MX 10 mx1.good
good       MX 20 mx2.good
mx1.good   A  192.0.2.25
mx2.good   AAAA 2001:db8::25
implicit   A  192.0.2.30
nullmx     MX 0 .
dangling   MX 10 nowhere.example.test.
mail       A  192.0.2.10
mail6      AAAA 2001:db8::10
liar       A  192.0.2.99
"""
        ),
    )
    dns_server.set_zone(
        "2.0.192.in-addr.arpa.",
        zone("10 PTR mail.example.test.\n11 PTR liar.example.test.\n"),
    )
    dns_server.set_zone(
        "8.b.d.0.1.0.0.2.ip6.arpa.",
        zone("0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR mail6.example.test.\n"),
    )
    return dns_server


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("good", "pass", None),
        ("implicit", "warn", "MX_IMPLICIT"),
        ("nullmx", "fail", "MX_NULL"),
        ("dangling", "fail", "MX_NO_RESOLVABLE_HOST"),
        ("absent", "fail", "MX_MISSING"),
    ],
)
def test_mx_over_dns(mail_dns: ZoneServer, name: str, status: str, code: str | None) -> None:
    result = check_of(check(mail_dns, f"{name}.example.test")[0], "mx", MxResult)
    assert result.status == status, result.findings
    assert codes(result) == ([code] if code else [])


def test_mx_lists_hosts_in_preference_order(mail_dns: ZoneServer) -> None:
    result = check_of(check(mail_dns, "good.example.test")[0], "mx", MxResult)
    assert result.hosts == ("mx1.good.example.test", "mx2.good.example.test")
    assert result.records[1].addresses == ("2001:db8::25",)


@pytest.mark.parametrize(
    ("ip", "status", "fcrdns", "code"),
    [
        ("192.0.2.10", "pass", True, None),
        ("192.0.2.11", "fail", False, "PTR_NOT_FORWARD_CONFIRMED"),
        ("192.0.2.12", "fail", False, "PTR_MISSING"),
        ("2001:db8::10", "pass", True, None),
    ],
)
def test_ptr_over_dns(
    mail_dns: ZoneServer, ip: str, status: str, fcrdns: bool, code: str | None
) -> None:
    result = check(mail_dns, ip)[0]
    assert result.kind == "ip"
    ptr = check_of(result, "ptr", PtrResult)
    assert (ptr.status, ptr.fcrdns) == (status, fcrdns)
    assert codes(ptr) == ([code] if code else [])


def test_ptr_refused_is_error(mail_dns: ZoneServer) -> None:
    mail_dns.set_fault("2.0.192.in-addr.arpa", "refused")
    ptr = check_of(check(mail_dns, "192.0.2.10")[0], "ptr", PtrResult)
    assert ptr.status == "error"
    assert "REFUSED" in ptr.findings[0].message
