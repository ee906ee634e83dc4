"""SPF: rules of DESIGN.md "Checks", on literal facts and over real DNS."""

from __future__ import annotations

import pytest

from checks.dns import DnsFailure
from checks.results import SpfResult, TargetResult, to_json
from checks.spf import SpfFacts, evaluate_spf, parse_all_qualifier, spf_include_tree
from checks.zoneserver import ZoneServer
from tests.conftest import check, check_of, zone


def codes(result) -> list[str]:
    return [f.code for f in result.findings]


# -- pure evaluation ----------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "qualifier"),
    [
        ("v=spf1 -all", "-"),
        ("v=spf1 ip4:192.0.2.1 ~all", "~"),
        ("v=spf1 ?all", "?"),
        ("v=spf1 all", "+"),
        ("v=spf1 +ALL", "+"),
        ("v=spf1 ip4:192.0.2.1", None),
    ],
)
def test_it_reads_the_all_qualifier(record: str, qualifier: str | None) -> None:
    assert parse_all_qualifier(record) == qualifier


def test_a_strict_record_passes() -> None:
    result = evaluate_spf("example.com", SpfFacts("v=spf1 mx -all", 1, 0))
    assert result.status == "pass"
    assert result.findings == ()


def test_plus_all_fails() -> None:
    result = evaluate_spf("example.com", SpfFacts("v=spf1 +all", 0, 0))
    assert (result.status, codes(result)) == ("fail", ["SPF_PASS_ALL"])


def test_neutral_all_and_no_all_warn() -> None:
    assert codes(evaluate_spf("e.com", SpfFacts("v=spf1 ?all", 0, 0))) == ["SPF_NEUTRAL_ALL"]
    no_all = evaluate_spf("e.com", SpfFacts("v=spf1 ip4:192.0.2.1", 0, 0))
    assert (no_all.status, codes(no_all)) == ("warn", ["SPF_NO_ALL"])


def test_a_redirect_stands_in_for_all() -> None:
    result = evaluate_spf("e.com", SpfFacts("v=spf1 redirect=_spf.e.com", 1, 0))
    assert result.status == "pass"


def test_lookup_limits_fail() -> None:
    assert codes(evaluate_spf("e.com", SpfFacts("v=spf1 -all", 11, 0))) == ["SPF_TOO_MANY_LOOKUPS"]
    assert codes(evaluate_spf("e.com", SpfFacts("v=spf1 -all", 3, 3))) == [
        "SPF_TOO_MANY_VOID_LOOKUPS"
    ]
    assert evaluate_spf("e.com", SpfFacts("v=spf1 -all", 10, 2)).status == "pass"


def test_a_dns_failure_is_error_not_missing() -> None:
    facts = SpfFacts(problem="missing", failures=(DnsFailure("e.com", "TXT", "timeout"),))
    result = evaluate_spf("e.com", facts)
    assert result.status == "error"
    assert codes(result) == ["DNS_LOOKUP_FAILED"]
    assert "e.com TXT: timeout" in result.findings[0].message


def test_plus_all_still_fails_when_an_include_could_not_be_resolved() -> None:
    facts = SpfFacts(
        "v=spf1 include:x.e.com +all", failures=(DnsFailure("x.e.com", "TXT", "SERVFAIL"),)
    )
    assert evaluate_spf("e.com", facts).status == "fail"


def test_every_finding_says_how_to_fix_it() -> None:
    result = evaluate_spf("e.com", SpfFacts("v=spf1 +all", 12, 3))
    assert all(f.fix and f.message for f in result.findings)


# -- over real DNS ------------------------------------------------------------

SPF_ZONE = zone(
    """
good        TXT "v=spf1 mx include:esp.example.test -all"
good        MX  10 mx.good
mx.good     A   192.0.2.25
esp         TXT "v=spf1 ip4:198.51.100.0/24 include:esp2.example.test -all"
esp2        TXT "v=spf1 ip4:203.0.113.0/24 -all"
open        TXT "v=spf1 +all"
neutral     TXT "v=spf1 ?all"
noall       TXT "v=spf1 ip4:192.0.2.1"
twice       TXT "v=spf1 -all"
twice       TXT "v=spf1 ~all"
nospf       TXT "google-site-verification=abc"
void        TXT "v=spf1 a:v1.example.test a:v2.example.test a:v3.example.test -all"
broken-inc  TXT "v=spf1 include:nothing.example.test -all"
dead-inc    TXT "v=spf1 include:dead.example.test -all"
chain       TXT "v=spf1 include:c1.example.test -all"
"""
    + "\n".join(f'c{i} TXT "v=spf1 include:c{i + 1}.example.test -all"' for i in range(1, 11))
    + '\nc11 TXT "v=spf1 ip4:192.0.2.0/24 -all"\n'
)


@pytest.fixture
def spf_dns(dns_server: ZoneServer) -> ZoneServer:
    dns_server.set_zone("example.test.", SPF_ZONE)
    dns_server.set_fault("dead.example.test", "servfail")
    return dns_server


def spf_of(server: ZoneServer, name: str, timeout: float = 2.0):
    return check_of(check(server, f"{name}.example.test", timeout=timeout)[0], "spf", SpfResult)


def test_it_passes_a_good_record_and_counts_its_lookups(spf_dns: ZoneServer) -> None:
    result = spf_of(spf_dns, "good")
    assert result.status == "pass", result.findings
    assert result.record == "v=spf1 mx include:esp.example.test -all"
    assert result.dns_lookups == 3
    assert result.void_lookups == 0


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("open", "fail", "SPF_PASS_ALL"),
        ("neutral", "warn", "SPF_NEUTRAL_ALL"),
        ("noall", "warn", "SPF_NO_ALL"),
        ("twice", "fail", "SPF_MULTIPLE_RECORDS"),
        ("nospf", "fail", "SPF_MISSING"),
        ("nonexistent", "fail", "SPF_MISSING"),
        ("void", "fail", "SPF_TOO_MANY_VOID_LOOKUPS"),
        ("broken-inc", "fail", "SPF_PERMERROR"),
        ("chain", "fail", "SPF_TOO_MANY_LOOKUPS"),
    ],
)
def test_it_judges_each_rule_over_dns(
    spf_dns: ZoneServer, name: str, status: str, code: str
) -> None:
    result = spf_of(spf_dns, name)
    assert result.status == status
    assert code in codes(result)


def test_an_include_chain_past_ten_lookups_reports_the_count(spf_dns: ZoneServer) -> None:
    result = spf_of(spf_dns, "chain")
    assert result.dns_lookups is not None and result.dns_lookups > 10
    assert "limit is 10" in result.findings[0].message


def test_a_servfail_in_an_include_is_error_not_fail(spf_dns: ZoneServer) -> None:
    result = spf_of(spf_dns, "dead-inc")
    assert result.status == "error"
    assert "SPF_PERMERROR" not in codes(result)
    assert any(
        "dead.example.test" in f.message and "SERVFAIL" in f.message for f in result.findings
    )


def test_a_timeout_is_error_and_names_the_lookup(spf_dns: ZoneServer) -> None:
    spf_dns.set_fault("good.example.test", "timeout")
    result = spf_of(spf_dns, "good", timeout=0.3)
    assert result.status == "error"
    assert set(codes(result)) == {"DNS_LOOKUP_FAILED"}
    assert any("good.example.test TXT: timeout" in f.message for f in result.findings)


def test_over_the_lookup_limit_it_shows_what_each_include_costs(spf_dns: ZoneServer) -> None:
    result = spf_of(spf_dns, "chain")
    tree = result.include_tree
    assert tree is not None
    assert (tree.domain, tree.lookups, tree.total) == ("chain.example.test", 1, 11)
    first = tree.includes[0]
    assert (first.domain, first.record, first.total) == (
        "c1.example.test", "v=spf1 include:c2.example.test -all", 10,
    )  # fmt: skip
    assert (
        to_json(TargetResult("chain.example.test", "domain", {"spf": result}))["checks"]["spf"][
            "include_tree"
        ]["includes"][0]["total"]
        == 10
    )
    assert spf_of(spf_dns, "good").include_tree is None  # under the limit: no walk


def test_the_include_tree_costs_each_term_once_and_stops_at_a_loop() -> None:
    records = {
        "a.example": "v=spf1 include:b.example mx a:x.a.example ip4:192.0.2.1 -all",
        "b.example": "v=spf1 include:a.example exists:%{i}.e.example ~all",
    }
    tree = spf_include_tree("A.example", records)
    assert (tree.domain, tree.lookups) == ("a.example", 3)
    (b,) = tree.includes
    assert (b.lookups, [child.domain for child in b.includes]) == (2, ["a.example"])
    assert b.includes[0].includes == ()  # the loop back to a.example ends there
    assert tree.total == 3 + 2 + 3
    assert spf_include_tree("none.example", {}).record is None
