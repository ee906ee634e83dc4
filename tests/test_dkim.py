"""DKIM: key presence, revocation, strength, testing flag and selector discovery."""

from __future__ import annotations

import pytest

from checks.dkim import evaluate_dkim_key, infer_selectors
from checks.results import DkimResult
from checks.zoneserver import ZoneServer
from tests.conftest import check, check_of, zone
from tests.keys import ed25519_key, rsa_key, txt


def codes(result) -> list[str]:
    return [f.code for f in result.findings]


@pytest.mark.parametrize(
    ("bits", "status", "code"),
    [(768, "fail", "DKIM_KEY_TOO_SHORT"), (1024, "warn", "DKIM_KEY_WEAK"), (2048, "pass", None)],
)
def test_rsa_key_strength(bits: int, status: str, code: str | None) -> None:
    result = evaluate_dkim_key("s1", "example.com", [f"v=DKIM1; k=rsa; p={rsa_key(bits)}"])
    assert (result.status, result.key_type, result.key_bits) == (status, "rsa", bits)
    assert codes(result) == ([code] if code else [])


def test_ed25519_passes() -> None:
    result = evaluate_dkim_key("ed", "example.com", [f"v=DKIM1; k=ed25519; p={ed25519_key()}"])
    assert (result.status, result.key_type) == ("pass", "ed25519")


def test_an_empty_key_is_revoked() -> None:
    result = evaluate_dkim_key("old", "example.com", ["v=DKIM1; k=rsa; p="])
    assert (result.status, codes(result)) == ("fail", ["DKIM_KEY_REVOKED"])


def test_testing_flag_warns() -> None:
    result = evaluate_dkim_key("s1", "example.com", [f"v=DKIM1; t=y; p={rsa_key(2048)}"])
    assert (result.status, codes(result)) == ("warn", ["DKIM_TESTING"])


def test_garbage_does_not_parse() -> None:
    result = evaluate_dkim_key("s1", "example.com", ["v=DKIM1; k=rsa; p=bm90IGEga2V5"])
    assert (result.status, codes(result)) == ("fail", ["DKIM_KEY_INVALID"])


def test_no_record_is_missing() -> None:
    assert codes(evaluate_dkim_key("s1", "example.com", [])) == ["DKIM_SELECTOR_MISSING"]


def test_it_infers_selectors_from_the_provider() -> None:
    assert infer_selectors(["aspmx.l.google.com."], []) == ["google"]
    assert infer_selectors(["example-com.mail.protection.outlook.com."], []) == [
        "selector1",
        "selector2",
    ]
    assert infer_selectors([], ["v=spf1 include:sendgrid.net -all"]) == ["s1", "s2"]
    assert infer_selectors([], ["v=spf1 include:servers.mcsv.net ~all"]) == ["k1", "k2", "k3"]


@pytest.fixture
def dkim_dns(dns_server: ZoneServer) -> ZoneServer:
    dns_server.set_zone(
        "example.test.",
        zone(
            f"""
s1._domainkey.signed       TXT {txt("v=DKIM1; k=rsa; p=" + rsa_key(2048))}
ed._domainkey.signed       TXT "v=DKIM1; k=ed25519; p={ed25519_key()}"
old._domainkey.signed      TXT "v=DKIM1; p="
weak._domainkey.signed     TXT {txt("v=DKIM1; p=" + rsa_key(1024))}
gmail                      MX  10 aspmx.l.google.com.
gmail                      TXT "v=spf1 include:_spf.google.com ~all"
google._domainkey.gmail    TXT {txt("v=DKIM1; k=rsa; p=" + rsa_key(2048))}
default._domainkey.common  TXT {txt("v=DKIM1; k=rsa; p=" + rsa_key(2048))}
"""
        ),
    )
    return dns_server


def test_configured_selectors_are_judged_one_by_one(dkim_dns: ZoneServer) -> None:
    result = check(dkim_dns, "signed.example.test", selectors=("s1", "ed", "old", "weak", "gone"))[
        0
    ]
    dkim = check_of(result, "dkim", DkimResult)
    statuses = {name: s.status for name, s in dkim.selectors.items()}
    assert statuses == {"s1": "pass", "ed": "pass", "old": "fail", "weak": "warn", "gone": "fail"}
    assert codes(dkim.selectors["gone"]) == ["DKIM_SELECTOR_MISSING"]
    assert dkim.status == "fail"


def test_a_revoked_key_fails_the_domain(dkim_dns: ZoneServer) -> None:
    result = check(dkim_dns, "signed.example.test", selectors=("old",))[0]
    assert result.checks["dkim"].status == "fail"
    assert result.status == "fail"


def test_it_discovers_the_selector_of_the_provider(dkim_dns: ZoneServer) -> None:
    dkim = check_of(check(dkim_dns, "gmail.example.test")[0], "dkim", DkimResult)
    assert dkim.discovered
    assert list(dkim.selectors) == ["google"]
    assert dkim.status == "pass"
    assert codes(dkim) == ["DKIM_SELECTORS_DISCOVERED"]


def test_it_discovers_common_selector_names(dkim_dns: ZoneServer) -> None:
    dkim = check_of(check(dkim_dns, "common.example.test")[0], "dkim", DkimResult)
    assert list(dkim.selectors) == ["default"]


def test_nothing_discovered_warns(dkim_dns: ZoneServer) -> None:
    dkim = check_of(check(dkim_dns, "unsigned.example.test")[0], "dkim", DkimResult)
    assert (dkim.status, codes(dkim)) == ("warn", ["DKIM_NO_SELECTOR_FOUND"])


def test_a_selector_that_times_out_is_error(dkim_dns: ZoneServer) -> None:
    dkim_dns.set_fault("s1._domainkey.signed.example.test", "timeout")
    dkim = check_of(
        check(dkim_dns, "signed.example.test", selectors=("s1",), timeout=0.3)[0],
        "dkim",
        DkimResult,
    )
    assert dkim.status == "error"
    assert codes(dkim.selectors["s1"]) == ["DNS_LOOKUP_FAILED"]


def test_a_key_restricted_to_sha1_fails() -> None:
    result = evaluate_dkim_key("s1", "example.com", [f"v=DKIM1; h=sha1; p={rsa_key(2048)}"])
    assert (result.status, codes(result)) == ("fail", ["DKIM_KEY_SHA1_ONLY"])
    both = evaluate_dkim_key("s1", "example.com", [f"v=DKIM1; h=sha1:sha256; p={rsa_key(2048)}"])
    assert both.status == "pass"


def test_a_key_for_another_service_fails() -> None:
    result = evaluate_dkim_key("s1", "example.com", [f"v=DKIM1; s=tlsrpt; p={rsa_key(2048)}"])
    assert (result.status, codes(result)) == ("fail", ["DKIM_KEY_NOT_FOR_EMAIL"])
    star = evaluate_dkim_key("s1", "example.com", [f"v=DKIM1; s=*; p={rsa_key(2048)}"])
    assert star.status == "pass"


def test_two_key_records_warn() -> None:
    record = f"v=DKIM1; k=rsa; p={rsa_key(2048)}"
    result = evaluate_dkim_key("s1", "example.com", [record, record])
    assert (result.status, codes(result)) == ("warn", ["DKIM_MULTIPLE_RECORDS"])
