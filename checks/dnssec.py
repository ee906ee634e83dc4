"""DNSSEC: whether a domain is signed and validates, by dnspython's own validation.

The chain is walked from the deepest configured trust anchor down to the
name asked about: at each label the DS RRset (validated by the zone above)
says whether a signed child zone starts there; its DNSKEY RRset must match
a DS and be signed by it. A label with no DS is either inside the current
zone or an unsigned delegation (it has its own SOA): the name is then
*insecure*, not bogus. Limits, said plainly: the absence of a DS is taken
from the answer, its NSEC/NSEC3 proof is not verified.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import dns.name
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone
from cryptography.utils import CryptographyDeprecationWarning

from checks.dns import DnsError, DnsFailure, ProbeResolver
from checks.findings import finding
from checks.spf import dns_failure_findings
from checks.transport_results import DnssecResult

with warnings.catch_warnings():
    # dnspython's DSA support imports names cryptography has deprecated.
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    import dns.dnssec

Security = Literal["secure", "insecure", "bogus", "indeterminate"]

# The root zone's key-signing keys (IANA root-anchors.xml): KSK-2017 and KSK-2024.
ROOT_ANCHORS = """
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
"""

Anchors = Mapping[dns.name.Name, Sequence[dns.rdata.Rdata]]
SignedAnswer = tuple[dns.rrset.RRset | None, dns.rrset.RRset | None]
SignedCache = dict[tuple[str, str], SignedAnswer]


class AnchorError(Exception):
    """The trust anchors file cannot be read or holds no DS/DNSKEY record."""


def parse_anchors(text: str) -> dict[dns.name.Name, list[dns.rdata.Rdata]]:
    """DS and DNSKEY records (zone-file syntax, absolute owners) by owner; AnchorError if none."""
    try:
        # Anchor files carry no $TTL of their own; the TTL means nothing here.
        zone = dns.zone.from_text(
            "$TTL 0\n" + text, origin=dns.name.root, relativize=False, check_origin=False
        )
    except dns.exception.DNSException as error:
        raise AnchorError(str(error)) from None
    anchors: dict[dns.name.Name, list[dns.rdata.Rdata]] = {}
    for name, node in zone.nodes.items():
        for rdataset in node.rdatasets:
            if rdataset.rdtype in (dns.rdatatype.DS, dns.rdatatype.DNSKEY):
                anchors.setdefault(name, []).extend(rdataset)
    if not anchors:
        raise AnchorError("no DS or DNSKEY record")
    return anchors


def load_anchors(path: str | None) -> dict[dns.name.Name, list[dns.rdata.Rdata]]:
    """The anchors of ``path``, else the root's; AnchorError when the file is unusable."""
    if path is None:
        return parse_anchors(ROOT_ANCHORS)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise AnchorError(f"{path}: {error}") from None
    return parse_anchors(text)


@dataclass(frozen=True)
class Validation:
    """The security of one RRset (or of the zone holding a name), and why."""

    security: Security
    reason: str = ""
    # Whether a signed zone (DNSKEY) holds the name, even if not linked by a DS.
    signed_zone: bool = False


def _keys_matching(
    dnskeys: dns.rrset.RRset, trusted: Sequence[dns.rdata.Rdata], owner: dns.name.Name
) -> bool:
    for anchor in trusted:
        if anchor.rdtype == dns.rdatatype.DNSKEY and anchor in dnskeys:
            return True
        if anchor.rdtype == dns.rdatatype.DS:
            for key in dnskeys:
                try:
                    made = dns.dnssec.make_ds(owner, key, anchor.digest_type)  # type: ignore[attr-defined]
                except (dns.exception.UnsupportedAlgorithm, ValueError):
                    continue
                if made == anchor:
                    return True
    return False


class Validator:
    """Validates RRsets through one resolver from the given anchors at time ``now``."""

    def __init__(
        self,
        resolver: ProbeResolver,
        anchors: Anchors,
        now: datetime,
        cache: SignedCache | None = None,
    ) -> None:
        self.resolver = resolver
        self.anchors = anchors
        self.now = now.timestamp()
        # Shared by a sweep's validators: the root and the TLDs are asked once, not
        # once per domain. Two threads may both ask a name first; either answer is right.
        self.cache: SignedCache = {} if cache is None else cache

    def _signed(self, name: str, rdtype: str) -> SignedAnswer:
        key = (name.lower(), rdtype)
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = self.resolver.lookup_signed(name, rdtype)
        return found

    def _verify(
        self,
        rrset: dns.rrset.RRset,
        signatures: dns.rrset.RRset | None,
        zone: dns.name.Name,
        keys: dns.rrset.RRset,
    ) -> str | None:
        if signatures is None:
            return f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} is not signed"
        try:
            dns.dnssec.validate(rrset, signatures, {zone: keys}, now=self.now)
        except dns.exception.ValidationFailure as error:
            return f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}: {error}"
        return None

    def _zone_keys(
        self, zone: dns.name.Name, trusted: Sequence[dns.rdata.Rdata]
    ) -> tuple[dns.rrset.RRset | None, str]:
        """The DNSKEY RRset of ``zone`` if it matches ``trusted`` and signs itself."""
        keys, signatures = self._signed(zone.to_text(), "DNSKEY")
        if keys is None:
            return None, f"{zone} has no DNSKEY"
        if not _keys_matching(keys, trusted, zone):
            return None, f"no DNSKEY of {zone} matches its DS or trust anchor"
        problem = self._verify(keys, signatures, zone, keys)
        return (None, problem) if problem else (keys, "")

    def validate(self, name: str, rdtype: str) -> tuple[Validation, dns.rrset.RRset | None]:
        """The security of ``name``/``rdtype`` and the RRset (DnsError when undeterminable)."""
        qname = dns.name.from_text(name)
        anchor = max(
            (zone for zone in self.anchors if qname.is_subdomain(zone)), key=len, default=None
        )
        if anchor is None:
            return Validation("indeterminate", f"no trust anchor covers {qname}"), None
        zone = anchor
        keys, problem = self._zone_keys(zone, self.anchors[anchor])
        if keys is None:
            # Without the anchor zone's own keys nothing can be judged (a resolver
            # that does not hand them over); keys that do not match it are bogus.
            missing = problem.endswith("has no DNSKEY")
            return Validation("indeterminate" if missing else "bogus", problem), None
        for depth in range(len(zone) + 1, len(qname) + 1):
            child = qname.split(depth)[1]
            ds, ds_signatures = self._signed(child.to_text(), "DS")
            if ds is None:
                soa, _sigs = self._signed(child.to_text(), "SOA")
                if soa is not None:  # a delegation without DS: an unsigned child zone
                    child_keys, _ = self._signed(child.to_text(), "DNSKEY")
                    return Validation(
                        "insecure", f"{child} has no DS in {zone}", child_keys is not None
                    ), None
                continue
            broken = self._verify(ds, ds_signatures, zone, keys)
            if broken:
                return Validation("bogus", broken, True), None
            keys, problem = self._zone_keys(child, list(ds))
            if keys is None:
                return Validation("bogus", problem, True), None
            zone = child
        rrset, signatures = self._signed(qname.to_text(), rdtype)
        if rrset is None:
            return Validation("secure", f"{zone} is signed; no {rdtype} at {qname}", True), None
        broken = self._verify(rrset, signatures, zone, keys)
        if broken:
            return Validation("bogus", broken, True), rrset
        return Validation("secure", "", True), rrset


def evaluate_dnssec(
    domain: str, validation: Validation | None, failures: Sequence[DnsFailure]
) -> DnssecResult:
    """Judge the validation of a domain's records."""
    findings = dns_failure_findings(list(failures))
    if validation is None:
        return DnssecResult(findings=tuple(findings))
    if validation.security == "indeterminate":
        findings.append(finding("DNSSEC_NO_TRUST_ANCHOR", f"{domain}: {validation.reason}."))
        return DnssecResult(findings=tuple(findings))
    if validation.security == "bogus":
        findings.append(
            finding("DNSSEC_BOGUS", f"{domain} does not validate: {validation.reason}.")
        )
        return DnssecResult(findings=tuple(findings), signed=True, validated=False)
    if validation.security == "insecure":
        findings.append(
            finding("DNSSEC_UNSIGNED", f"{domain} is not signed ({validation.reason}).")
        )
        return DnssecResult(
            findings=tuple(findings), signed=validation.signed_zone, validated=False
        )
    return DnssecResult(findings=tuple(findings), signed=True, validated=True)


def validate_domain(domain: str, validator: Validator) -> Validation:
    """The security of ``domain``: its SOA at a zone apex, else its MX (DnsError when
    undeterminable)."""
    validation, rrset = validator.validate(domain, "SOA")
    if validation.security == "secure" and rrset is None:
        validation, _ = validator.validate(domain, "MX")
    return validation


def check_dnssec(
    domain: str,
    resolver: ProbeResolver,
    anchors: Anchors | AnchorError,
    now: datetime,
    cache: SignedCache | None = None,
) -> DnssecResult:
    """Validate ``domain`` from the trust ``anchors`` (or say why there are none)."""
    if isinstance(anchors, AnchorError):
        return DnssecResult(
            findings=(finding("DNSSEC_NO_TRUST_ANCHOR", f"Trust anchors: {anchors}."),)
        )
    start = len(resolver.failures)
    try:
        validation: Validation | None = validate_domain(
            domain, Validator(resolver, anchors, now, cache)
        )
    except DnsError:
        validation = None
    return evaluate_dnssec(domain, validation, resolver.failures[start:])
