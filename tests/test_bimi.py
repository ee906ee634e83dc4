"""BIMI: the record, the SVG Tiny PS rules and the mark certificate on literal input, then the
whole check against loopback DNS and HTTPS with a mark certificate made in the test."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from checks.bimi import BimiFacts, Fetched, evaluate_bimi, parse_bimi
from checks.dns import DnsSettings, parse_nameserver
from checks.mark_certificate import BIMI_EKU, LOGOTYPE_OID, der_items, describe_mark
from checks.results import TargetResult
from checks.svg_tiny_ps import svg_problems
from checks.sweep import check_targets
from checks.targets import parse_target
from checks.transport import TransportPlan, TransportSettings
from checks.zoneserver import ZoneServer
from tests.conftest import zone
from tests.tls_servers import CertificateAuthority, HttpsServer, Page, https_server

NOW = dt.datetime.now(dt.UTC)
LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" version="1.2" baseProfile="tiny-ps" '
    b'viewBox="0 0 100 100"><title>Acme</title><circle cx="50" cy="50" r="40" fill="#c00"/></svg>'
)


def codes(result: object) -> set[str]:
    return {f.code for f in result.findings}  # type: ignore[attr-defined]


# -- a mark certificate, made here -------------------------------------------------------


def der(tag: int, value: bytes) -> bytes:
    length = len(value)
    if length < 0x80:
        return bytes([tag, length]) + value
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + value


def logotype(svg: bytes) -> bytes:
    """An RFC 3709 LogotypeExtn holding ``svg`` as a gzip data: URI with its SHA-256."""
    data = gzip.compress(svg)
    uri = b"data:image/svg+xml;base64," + base64.b64encode(data)
    sha256 = der(0x30, der(0x06, bytes.fromhex("608648016503040201")))
    details = der(
        0x30,
        der(0x16, b"image/svg+xml")
        + der(0x30, der(0x30, sha256 + der(0x04, hashlib.sha256(data).digest())))
        + der(0x30, der(0x16, uri)),
    )
    image = der(0x30, der(0x30, details))
    return der(0x30, der(0xA2, der(0xA0, der(0x30, image))))


def mark_chain(
    svg: bytes = LOGO, names: tuple[str, ...] = ("brand.test",), days: int = 365
) -> bytes:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Mark CA")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - dt.timedelta(days=10))
        .not_valid_after(NOW + dt.timedelta(days=900))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Brand")]))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(NOW - dt.timedelta(days=5))
        .not_valid_after(NOW + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .add_extension(x509.ExtendedKeyUsage([BIMI_EKU]), critical=False)
        .add_extension(x509.UnrecognizedExtension(LOGOTYPE_OID, logotype(svg)), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, root))


# -- pure ----------------------------------------------------------------------------


def test_the_record_needs_https_urls() -> None:
    assert parse_bimi("v=BIMI1; l=https://brand.test/logo.svg; a=https://brand.test/vmc.pem")
    assert parse_bimi("v=BIMI1; l=http://brand.test/logo.svg") is None
    assert parse_bimi("v=BIMI2; l=https://brand.test/logo.svg") is None


@pytest.mark.parametrize(
    ("logo", "problem"),
    [
        (LOGO.replace(b"tiny-ps", b"tiny"), "baseProfile"),
        (LOGO.replace(b"<title>Acme</title>", b""), "no <title>"),
        (LOGO.replace(b"0 0 100 100", b"0 0 100 50"), "not square"),
        (LOGO.replace(b"</svg>", b"<script>alert(1)</script></svg>"), "<script>"),
        (LOGO.replace(b"<circle", b'<circle onclick="x()"'), "event handler"),
        (LOGO.replace(b'fill="#c00"', b'fill="url(https://x.test/p)"'), "external url()"),
        (LOGO.replace(b"</svg>", b"<!--" + b"x" * 40000 + b"--></svg>"), "over 32768"),
        (b'<!DOCTYPE svg [<!ENTITY e "boom">]>' + LOGO.replace(b"Acme", b"&e;"), "not well-formed"),
    ],
)
def test_logos_outside_svg_tiny_ps_are_refused(logo: bytes, problem: str) -> None:
    assert svg_problems(LOGO) == []
    assert any(problem in found for found in svg_problems(logo)), svg_problems(logo)


def test_the_mark_certificate_carries_the_logo_and_is_judged() -> None:
    facts = describe_mark(mark_chain(), "brand.test", NOW)
    assert facts.problems == () and facts.logos == (LOGO,)
    other = describe_mark(mark_chain(names=("other.test",)), "brand.test", NOW)
    assert any("not brand.test" in p for p in other.problems)
    assert describe_mark(b"junk", "brand.test", NOW).problems
    with pytest.raises(ValueError):
        list(der_items(b"\x30\x05\x04"))


def facts(**kwargs: object) -> BimiFacts:
    values: dict[str, object] = {
        "records": ["v=BIMI1; l=https://brand.test/logo.svg; a=https://brand.test/vmc.pem"],
        "dmarc_policy": "reject",
        "logo": Fetched(LOGO),
        "mark": Fetched(mark_chain()),
    }
    values.update(kwargs)
    return BimiFacts(**values)  # type: ignore[arg-type]


def test_bimi_rules() -> None:
    good = evaluate_bimi("brand.test", facts(), NOW)
    assert good.status == "pass", good.findings
    assert good.logo_valid and good.vmc and good.vmc.hash_matches
    assert codes(evaluate_bimi("brand.test", facts(dmarc_policy="none"), NOW)) == {
        "BIMI_DMARC_NOT_ENFORCED"
    }
    half = evaluate_bimi("brand.test", facts(dmarc_policy="reject", dmarc_pct="50"), NOW)
    assert codes(half) == {"BIMI_DMARC_NOT_ENFORCED"}
    other_logo = mark_chain(LOGO.replace(b"#c00", b"#00c"))
    assert codes(evaluate_bimi("brand.test", facts(mark=Fetched(other_logo)), NOW)) == {
        "BIMI_VMC_LOGO_MISMATCH"
    }
    expired = evaluate_bimi("brand.test", facts(), NOW + dt.timedelta(days=400))
    assert "BIMI_VMC_EXPIRED" in codes(expired)
    down = evaluate_bimi("brand.test", facts(logo=Fetched(failure="connect")), NOW)
    assert codes(down) == {"BIMI_LOGO_UNREACHABLE"} and down.status == "error"
    gone = evaluate_bimi("brand.test", facts(logo=Fetched(failure="status", status=404)), NOW)
    assert codes(gone) == {"BIMI_LOGO_FETCH_REFUSED"}
    assert codes(evaluate_bimi("brand.test", BimiFacts(), NOW)) == {"BIMI_MISSING"}


# -- on loopback --------------------------------------------------------------------


@pytest.fixture
def brand(tmp_path: Path) -> Iterator[tuple[ZoneServer, HttpsServer, CertificateAuthority]]:
    ca = CertificateAuthority(tmp_path)
    record = "v=BIMI1; l=https://brand.test/logo.svg; a=https://brand.test/vmc.pem"
    zones = {
        "brand.test.": zone(
            f'@ A 127.0.0.1\ndefault._bimi TXT "{record}"\n_dmarc TXT "v=DMARC1; p=reject"\n'
        ),
        "monitoring.test.": zone(
            '@ A 127.0.0.1\ndefault._bimi TXT "v=BIMI1; l=https://brand.test/bad.svg"\n'
            '_dmarc TXT "v=DMARC1; p=none"\n'
        ),
    }
    pages = {
        "brand.test/logo.svg": Page(LOGO, content_type="image/svg+xml"),
        "brand.test/bad.svg": Page(LOGO.replace(b"tiny-ps", b"tiny")),
        "brand.test/vmc.pem": Page(mark_chain(), content_type="application/x-pem-file"),
    }
    with (
        ZoneServer(zones) as dns,
        https_server({"brand.test": ca.issue(("brand.test",))}, pages) as https,
    ):
        yield dns, https, ca


def run(brand: tuple[ZoneServer, HttpsServer, CertificateAuthority], domain: str) -> TargetResult:
    dns, https, ca = brand
    settings = TransportSettings(https_port=https.port, ca_file=str(ca.ca_file), smtp_port=1)
    [result] = check_targets(
        [parse_target(domain)],
        DnsSettings((parse_nameserver(dns.nameserver),), timeout=2.0),
        transport=TransportPlan(settings),
    )
    return result


def test_a_brand_with_a_valid_logo_and_mark_certificate_passes(
    brand: tuple[ZoneServer, HttpsServer, CertificateAuthority],
) -> None:
    bimi = run(brand, "brand.test").checks["bimi"]
    assert bimi.status == "pass", bimi.findings
    assert bimi.logo_url == "https://brand.test/logo.svg"  # type: ignore[attr-defined]
    assert bimi.vmc is not None and bimi.vmc.hash_matches  # type: ignore[attr-defined]


def test_a_brand_without_enforcement_and_a_wrong_profile_fails(
    brand: tuple[ZoneServer, HttpsServer, CertificateAuthority],
) -> None:
    bimi = run(brand, "monitoring.test").checks["bimi"]
    assert codes(bimi) == {"BIMI_DMARC_NOT_ENFORCED", "BIMI_LOGO_INVALID", "BIMI_NO_VMC"}
    assert bimi.status == "fail"
