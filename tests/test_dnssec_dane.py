"""DNSSEC validation and DANE TLSA against zones the tests sign themselves (dns.dnssec.sign_zone),
served on loopback, with the test's own trust anchor, and an SMTP server with STARTTLS."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.name
import dns.rdata
import dns.zone
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.utils import CryptographyDeprecationWarning

from checks.certificates import spki_der
from checks.dane import DaneHostFacts, Tlsa, evaluate_dane
from checks.dns import DnsSettings, parse_nameserver
from checks.dnssec import AnchorError, Validation, evaluate_dnssec, parse_anchors
from checks.results import TargetResult
from checks.sweep import check_targets
from checks.targets import parse_target
from checks.transport import TransportPlan, TransportSettings
from checks.zoneserver import ZoneServer
from tests.conftest import zone
from tests.tls_servers import CertificateAuthority, starttls_server

with warnings.catch_warnings():
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    import dns.dnssec


def codes(result: object) -> set[str]:
    return {f.code for f in result.findings}  # type: ignore[attr-defined]


def signed(origin: str, text: str) -> tuple[str, dns.rdata.Rdata]:
    """``text`` signed with a fresh ed25519 key: the signed zone text and its DNSKEY."""
    parsed = dns.zone.from_text(text, origin=origin, relativize=False)
    private = ed25519.Ed25519PrivateKey.generate()
    dnskey = dns.dnssec.make_dnskey(private.public_key(), dns.dnssec.Algorithm.ED25519, flags=257)
    dns.dnssec.sign_zone(parsed, keys=[(private, dnskey)], lifetime=30 * 86400)
    return parsed.to_text(relativize=False), dnskey


# -- pure --------------------------------------------------------------------------


def test_anchor_files_need_a_ds_or_dnskey_record() -> None:
    with pytest.raises(AnchorError):
        parse_anchors("example. IN A 192.0.2.1\n")
    assert dns.name.root in parse_anchors(". IN DS 20326 8 2 " + "AB" * 32 + "\n")


def test_dnssec_statuses() -> None:
    assert evaluate_dnssec("x.test", Validation("secure"), []).status == "pass"
    insecure = evaluate_dnssec("x.test", Validation("insecure", "no DS"), [])
    assert codes(insecure) == {"DNSSEC_UNSIGNED"} and insecure.status == "pass"
    bogus = evaluate_dnssec("x.test", Validation("bogus", "bad signature"), [])
    assert codes(bogus) == {"DNSSEC_BOGUS"} and bogus.status == "fail"
    assert evaluate_dnssec("x.test", None, []).status == "pass"


def test_dane_statuses() -> None:
    chain = (b"not a certificate",)
    exact = Tlsa(3, 0, 0, chain[0])
    assert evaluate_dane("x.test", [DaneHostFacts("mx", [exact], True, chain)], True).status == (
        "pass"
    )
    other = Tlsa(3, 0, 0, b"another")
    mismatch = evaluate_dane("x.test", [DaneHostFacts("mx", [other], True, chain)], True)
    assert codes(mismatch) == {"DANE_MISMATCH"} and mismatch.status == "fail"
    insecure = evaluate_dane("x.test", [DaneHostFacts("mx", [exact], False, chain)], False)
    assert codes(insecure) == {"DANE_WITHOUT_DNSSEC"}
    unreachable = evaluate_dane(
        "x.test", [DaneHostFacts("mx", [exact], True, None, "refused")], True
    )
    assert unreachable.status == "error"
    assert codes(evaluate_dane("x.test", [], None)) == {"DANE_NONE"}


# -- on loopback --------------------------------------------------------------------


@dataclass
class Signed:
    dns: ZoneServer
    anchors: Path
    smtp_port: int
    ca: CertificateAuthority

    def check(self, *domains: str, anchors: Path | None = None) -> list[TargetResult]:
        settings = TransportSettings(
            smtp_port=self.smtp_port,
            https_port=1,
            ca_file=str(self.ca.ca_file),
            connect_timeout=5.0,
            trust_anchors=str(anchors or self.anchors),
        )
        return check_targets(
            [parse_target(d) for d in domains],
            DnsSettings((parse_nameserver(self.dns.nameserver),), timeout=2.0),
            transport=TransportPlan(settings),
        )


def child(name: str, tlsa: str) -> str:
    return zone(f"@ MX 10 mx\nmx A 127.0.0.1\n_25._tcp.mx TLSA {tlsa}\n")


@pytest.fixture
def signed_zones(tmp_path: Path) -> Iterator[Signed]:
    ca = CertificateAuthority(tmp_path)
    names = ("mx.signed.test", "mx.mismatch.test", "mx.tampered.test", "mx.plain.test")
    chain_file, key_file = ca.issue(names, file_name="mx")
    certificate = x509.load_pem_x509_certificate(chain_file.read_bytes())
    digest = hashlib.sha256(spki_der(certificate)).hexdigest()
    zones: dict[str, str] = {}
    delegations = ""
    for name, tlsa in (
        ("signed", f"3 1 1 {digest}"),
        ("mismatch", f"3 1 1 {'00' * 32}"),
        ("tampered", f"3 1 1 {digest}"),
        # Its MX presents a certificate for other names, which its TLSA record matches.
        ("daneonly", f"3 1 1 {digest}"),
    ):
        text, key = signed(f"{name}.test.", child(name, tlsa))
        if name == "tampered":  # a record changed after signing
            text = text.replace(" 1 3600 600 ", " 2 3600 600 ", 1)
        zones[f"{name}.test."] = text
        ds = dns.dnssec.make_ds(f"{name}.test.", key, "SHA256")
        delegations += f"{name} NS ns.{name}\n{name} DS {ds.to_text()}\n"
    zones["plain.test."] = child("plain", f"3 1 1 {digest}")
    delegations += "plain NS ns.plain\n"
    parent_text, parent_key = signed("test.", zone(delegations))
    zones["test."] = parent_text
    anchors = tmp_path / "anchors.txt"
    anchors.write_text(f"test. IN DNSKEY {parent_key.to_text()}\n")
    with ZoneServer(zones) as server, starttls_server((chain_file, key_file)) as port:
        yield Signed(server, anchors, port, ca)


def test_a_signed_domain_validates_and_its_tlsa_matches(signed_zones: Signed) -> None:
    [result] = signed_zones.check("signed.test")
    dnssec = result.checks["dnssec"]
    assert dnssec.status == "pass", dnssec.findings
    assert (dnssec.signed, dnssec.validated) == (True, True)  # type: ignore[attr-defined]
    dane = result.checks["dane"]
    assert dane.status == "pass", dane.findings
    assert dane.hosts["mx.signed.test"].matches is True  # type: ignore[attr-defined]


def test_a_tlsa_record_for_another_key_is_a_dane_mismatch(signed_zones: Signed) -> None:
    [result] = signed_zones.check("mismatch.test")
    assert result.checks["dnssec"].status == "pass"
    assert codes(result.checks["dane"]) == {"DANE_MISMATCH"}
    assert result.checks["dane"].status == "fail"


def test_a_record_changed_after_signing_is_bogus(signed_zones: Signed) -> None:
    [result] = signed_zones.check("tampered.test")
    dnssec = result.checks["dnssec"]
    assert codes(dnssec) == {"DNSSEC_BOGUS"} and dnssec.status == "fail"
    assert (dnssec.signed, dnssec.validated) == (True, False)  # type: ignore[attr-defined]


def test_an_unsigned_delegation_is_insecure_and_its_tlsa_do_not_count(signed_zones: Signed) -> None:
    [result] = signed_zones.check("plain.test")
    dnssec = result.checks["dnssec"]
    assert codes(dnssec) == {"DNSSEC_UNSIGNED"} and dnssec.validated is False  # type: ignore[attr-defined]
    assert codes(result.checks["dane"]) == {"DANE_WITHOUT_DNSSEC"}


def test_another_trust_anchor_makes_the_signed_domain_bogus(
    signed_zones: Signed, tmp_path: Path
) -> None:
    _text, stranger = signed("test.", zone(""))
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(f"test. IN DNSKEY {stranger.to_text()}\n")
    [result] = signed_zones.check("signed.test", anchors=wrong)
    assert codes(result.checks["dnssec"]) == {"DNSSEC_BOGUS"}
    unreadable = tmp_path / "missing.txt"
    [none] = signed_zones.check("signed.test", anchors=unreadable)
    assert codes(none.checks["dnssec"]) == {"DNSSEC_NO_TRUST_ANCHOR"}
    assert none.checks["dnssec"].status == "error"


def test_a_certificate_for_another_name_passes_starttls_when_dane_matches_it(
    signed_zones: Signed,
) -> None:
    [result] = signed_zones.check("daneonly.test")
    starttls = result.checks["starttls"]
    assert starttls.status == "pass", starttls.findings
    assert starttls.hosts["mx.daneonly.test"].name_matches is False  # type: ignore[attr-defined]
    assert result.checks["dane"].status == "pass"
    # plain.test's MX presents the same certificate, which does name it: no DANE needed.
    [plain] = signed_zones.check("plain.test")
    assert plain.checks["starttls"].status == "pass"
