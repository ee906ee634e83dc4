"""DKIM (RFC 6376, RFC 8463): each selector's key is present, not revoked and strong.

With no configured selector, selectors are discovered: first those of the
sending provider seen in the domain's MX and SPF records, then a short list
of common names. ``evaluate_dkim_key`` is pure (record text in, result out).
"""

from __future__ import annotations

from collections.abc import Sequence

import dkim
import dkim.util

from checks.dns import DnsError, ProbeResolver
from checks.findings import Finding, finding
from checks.results import DkimResult, DkimSelectorResult

MIN_RSA_BITS = 1024
GOOD_RSA_BITS = 2048

# Provider fingerprints (a substring of an MX host or SPF record) and the
# selectors that provider signs with. Order matters only for readability.
PROVIDER_SELECTORS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "google": (("google.com", "googlemail.com", "_spf.google.com"), ("google",)),
    "microsoft": (
        ("protection.outlook.com", "spf.protection.outlook.com"),
        ("selector1", "selector2"),
    ),
    "sendgrid": (("sendgrid.net",), ("s1", "s2")),
    "mailchimp": (("servers.mcsv.net", "mandrillapp.com", "mcsv.net"), ("k1", "k2", "k3")),
    "mailgun": (("mailgun.org",), ("smtp", "mailo", "k1")),
    "postmark": (("mtasv.net",), ("pm",)),
    "zoho": (("zoho.com", "zoho.eu"), ("zmail", "zoho")),
    "fastmail": (("messagingengine.com",), ("fm1", "fm2", "fm3")),
}
COMMON_SELECTORS: tuple[str, ...] = (
    "default",
    "dkim",
    "mail",
    "selector1",
    "selector2",
    "google",
    "k1",
    "s1",
    "s2",
    "key1",
)


def evaluate_dkim_key(selector: str, domain: str, records: Sequence[str]) -> DkimSelectorResult:
    """Judge the TXT records found at ``selector._domainkey.domain``."""
    name = f"{selector}._domainkey.{domain}"
    keys = [r for r in records if "p=" in r.replace(" ", "") or r.strip().startswith("v=DKIM1")]
    if not keys:
        return DkimSelectorResult(
            findings=(finding("DKIM_SELECTOR_MISSING", f"No DKIM key record at {name}."),),
        )
    record = keys[0]
    findings: list[Finding] = []
    if len(keys) > 1:
        findings.append(
            finding(
                "DKIM_MULTIPLE_RECORDS",
                f"{name} has {len(keys)} key records; receivers may use any one of them.",
            )
        )
    try:
        tags = dkim.util.parse_tag_value(record.encode("utf-8"))
    except dkim.util.InvalidTagValueList as error:
        return DkimSelectorResult(
            findings=(
                *findings,
                finding("DKIM_KEY_INVALID", f"The key record at {name} does not parse: {error}."),
            ),
            record=record,
        )
    key_type = tags.get(b"k", b"rsa").decode("ascii", "replace").lower()
    testing = b"y" in _tag_list(tags.get(b"t"))
    if testing:
        findings.append(finding("DKIM_TESTING", f"The key at {name} has t=y (testing)."))
    hashes = _tag_list(tags.get(b"h"))
    if hashes and b"sha256" not in hashes:
        findings.append(
            finding(
                "DKIM_KEY_SHA1_ONLY",
                f"The key at {name} allows only h={b':'.join(hashes).decode()}; receivers "
                "no longer accept SHA-1 signatures (RFC 8301).",
            )
        )
    services = _tag_list(tags.get(b"s"))
    if services and not {b"email", b"*"} & set(services):
        findings.append(
            finding(
                "DKIM_KEY_NOT_FOR_EMAIL",
                f"The key at {name} is restricted to s={b':'.join(services).decode()}, "
                "so it cannot verify email.",
            )
        )
    if not tags.get(b"p", b"").strip():
        findings.append(finding("DKIM_KEY_REVOKED", f"The key at {name} is revoked (p= is empty)."))
        return DkimSelectorResult(
            tuple(findings), record=record, key_type=key_type, testing=testing
        )
    try:
        _key, bits, ktag, _tlsrpt = dkim.evaluate_pk(name.encode(), record.encode("utf-8"))
    except (dkim.DKIMException, ValueError) as error:
        # dkimpy lets binascii.Error (a ValueError) out of p= values that
        # are not base64 at all.
        findings.append(finding("DKIM_KEY_INVALID", f"The key at {name} does not parse: {error}."))
        return DkimSelectorResult(
            tuple(findings), record=record, key_type=key_type, testing=testing
        )
    if ktag is None:
        # dkimpy reads no key for a service other than email (s=): that is
        # DKIM_KEY_NOT_FOR_EMAIL above.
        return DkimSelectorResult(
            tuple(findings), record=record, key_type=key_type, testing=testing
        )
    key_type = ktag.decode("ascii")
    if key_type == "rsa":
        if bits < MIN_RSA_BITS:
            findings.append(
                finding(
                    "DKIM_KEY_TOO_SHORT",
                    f"The RSA key at {name} has {bits} bits; receivers reject it.",
                )
            )
        elif bits < GOOD_RSA_BITS:
            findings.append(
                finding(
                    "DKIM_KEY_WEAK", f"The RSA key at {name} has {bits} bits; 2048 is the norm."
                )
            )
    return DkimSelectorResult(
        tuple(findings), record=record, key_type=key_type, key_bits=bits, testing=testing
    )


def _tag_list(value: bytes | None) -> list[bytes]:
    """A colon-separated DKIM tag value (``h=``, ``s=``, ``t=``) as lower-case items."""
    if not value:
        return []
    return [item.strip().lower() for item in value.split(b":") if item.strip()]


def infer_selectors(mx_hosts: Sequence[str], spf_records: Sequence[str]) -> list[str]:
    """Selectors of the providers seen in MX hosts and SPF records."""
    haystack = " ".join([*mx_hosts, *spf_records]).lower()
    selectors: list[str] = []
    for fingerprints, provider_selectors in PROVIDER_SELECTORS.values():
        if any(fingerprint in haystack for fingerprint in fingerprints):
            selectors.extend(s for s in provider_selectors if s not in selectors)
    return selectors


def _dns_error(selector: str, error: DnsError) -> DkimSelectorResult:
    return DkimSelectorResult(
        findings=(finding("DNS_LOOKUP_FAILED", f"Could not resolve {error.failure.describe()}."),),
    )


def check_dkim(
    domain: str,
    selectors: Sequence[str],
    resolver: ProbeResolver,
    reported: Sequence[str] = (),
) -> DkimResult:
    """Judge the configured ``selectors`` of ``domain``, or discover some (``reported``
    ones, seen in receivers' DMARC reports, first)."""
    if selectors:
        results: dict[str, DkimSelectorResult] = {}
        for selector in selectors:
            try:
                records = resolver.lookup_txt(f"{selector}._domainkey.{domain}")
            except DnsError as error:
                results[selector] = _dns_error(selector, error)
                continue
            results[selector] = evaluate_dkim_key(selector, domain, records)
        return DkimResult(selectors=results)
    return discover_dkim(domain, resolver, reported)


def discover_dkim(domain: str, resolver: ProbeResolver, reported: Sequence[str] = ()) -> DkimResult:
    """Try reported, provider-inferred and common selectors; report the keys found."""
    findings: list[Finding] = []
    try:
        mx_hosts = [r.exchange.to_text() for r in resolver.lookup(domain, "MX")]  # type: ignore[attr-defined]
        spf_records = [t for t in resolver.lookup_txt(domain) if t.lower().startswith("v=spf1")]
    except DnsError:
        mx_hosts, spf_records = [], []
    candidates = list(dict.fromkeys(reported))
    candidates += [s for s in infer_selectors(mx_hosts, spf_records) if s not in candidates]
    candidates += [s for s in COMMON_SELECTORS if s not in candidates]
    found: dict[str, DkimSelectorResult] = {}
    failed: list[str] = []
    for selector in candidates:
        try:
            records = resolver.lookup_txt(f"{selector}._domainkey.{domain}")
        except DnsError as error:
            failed.append(error.failure.describe())
            continue
        result = evaluate_dkim_key(selector, domain, records)
        # A revoked key under a discovered selector is what key rotation
        # leaves behind; only live keys say what the domain signs with.
        if records and not any(f.code == "DKIM_KEY_REVOKED" for f in result.findings):
            found[selector] = result
    if found:
        findings.append(
            finding(
                "DKIM_SELECTORS_DISCOVERED",
                f"Found DKIM keys for selector(s) {', '.join(found)} of {domain}.",
            )
        )
    elif failed:
        findings.extend(
            finding("DNS_LOOKUP_FAILED", f"Could not resolve {name}.") for name in failed
        )
    else:
        findings.append(
            finding(
                "DKIM_NO_SELECTOR_FOUND",
                f"No DKIM selector is configured for {domain} and none of "
                f"{len(candidates)} likely selectors has a key.",
            )
        )
    return DkimResult(findings=tuple(findings), selectors=found, discovered=True)
