"""DANE for SMTP (RFC 7672): ``_25._tcp.MX`` TLSA records against the certificate the MX presents.

TLSA records count only when DNSSEC secures them; the ``dane`` check says
so (:mod:`checks.dnssec` validates them), and the ``starttls`` check takes
a matching TLSA record in place of a certificate for the MX name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from checks.certificates import tlsa_association
from checks.dns import DnsError, DnsFailure, ProbeResolver
from checks.dnssec import AnchorError, Validator
from checks.findings import Finding, finding
from checks.mx import query_mx
from checks.smtp_tls import SmtpTlsError
from checks.spf import dns_failure_findings
from checks.transport_results import DaneHost, DaneResult

if TYPE_CHECKING:
    from checks.transport import TransportPlan

DANE_USAGES = (2, 3)  # DANE-TA, DANE-EE; PKIX-TA/EE (0, 1) are not used by SMTP


@dataclass(frozen=True)
class Tlsa:
    """One TLSA record."""

    usage: int
    selector: int
    matching_type: int
    data: bytes

    def __str__(self) -> str:
        return f"{self.usage} {self.selector} {self.matching_type} {self.data.hex()}"

    @property
    def valid(self) -> bool:
        return (
            self.usage in (0, 1, 2, 3)
            and self.selector in (0, 1)
            and self.matching_type in (0, 1, 2)
        )


def query_tlsa(host: str, resolver: ProbeResolver, port: int = 25) -> list[Tlsa]:
    """The TLSA records of ``_PORT._tcp.host`` (DnsError when undeterminable)."""
    return [
        Tlsa(int(r.usage), int(r.selector), int(r.mtype), bytes(r.cert))  # type: ignore[attr-defined]
        for r in resolver.lookup(f"_{port}._tcp.{host}", "TLSA")
    ]


def record_matches(record: Tlsa, chain: Sequence[bytes]) -> bool:
    """Whether ``record`` matches the presented ``chain`` (DER, leaf first).

    DANE-EE (3) matches the leaf; DANE-TA (2) any certificate of the chain
    above it. PKIX usages are not matched: SMTP does not use them.
    """
    if not chain or not record.valid:
        return False
    if record.usage == 3:
        candidates: Sequence[bytes] = chain[:1]
    elif record.usage == 2:
        candidates = chain[1:]
    else:
        return False
    return any(
        tlsa_association(der, record.selector, record.matching_type) == record.data
        for der in candidates
    )


def chain_matches_tlsa(records: Sequence[Tlsa], chain: Sequence[bytes]) -> bool:
    """Whether any DANE record of ``records`` matches ``chain``."""
    return any(record_matches(record, chain) for record in records)


@dataclass(frozen=True)
class DaneHostFacts:
    """One MX host: its TLSA records, whether DNSSEC secures them, the presented chain."""

    host: str
    tlsa: Sequence[Tlsa]
    secure: bool | None
    chain: Sequence[bytes] | None = None
    unreachable: str | None = None


def evaluate_dane(
    domain: str,
    hosts: Sequence[DaneHostFacts],
    validated: bool | None,
    failures: Sequence[DnsFailure] = (),
) -> DaneResult:
    """Judge the TLSA records of each MX host of ``domain`` against its presented chain."""
    findings: list[Finding] = dns_failure_findings(list(failures))
    details: dict[str, DaneHost] = {}
    for facts in hosts:
        if not facts.tlsa:
            continue
        host = facts.host
        matches: bool | None = None
        if any(not r.valid for r in facts.tlsa):
            findings.append(
                finding("DANE_RECORD_INVALID", f"_25._tcp.{host} has unknown TLSA parameters.")
            )
        if any(r.usage in (0, 1) for r in facts.tlsa):
            findings.append(finding("DANE_USAGE_PKIX", f"_25._tcp.{host} has TLSA usage 0 or 1."))
        if facts.secure is False:
            findings.append(
                finding("DANE_WITHOUT_DNSSEC", f"The TLSA records of {host} are not DNSSEC-secure.")
            )
        if facts.chain is None:
            findings.append(
                finding(
                    "DANE_HOST_UNCHECKED", f"MX host {host}: {facts.unreachable or 'no address'}."
                )
            )
        else:
            matches = chain_matches_tlsa(facts.tlsa, facts.chain)
            if not matches:
                findings.append(
                    finding(
                        "DANE_MISMATCH",
                        f"The certificate MX host {host} presents matches none of its "
                        f"{len(facts.tlsa)} TLSA records.",
                    )
                )
        details[host] = DaneHost(tlsa=tuple(str(r) for r in facts.tlsa), matches=matches)
    if not details and not findings:
        findings.append(finding("DANE_NONE", f"No MX host of {domain} has TLSA records."))
    return DaneResult(findings=tuple(findings), hosts=details, dnssec_validated=validated)


def check_dane(domain: str, resolver: ProbeResolver, plan: TransportPlan) -> DaneResult:
    """Retrieve the TLSA records of every MX host of ``domain`` and compare them with the
    certificate each presents (the sweep's one STARTTLS session)."""
    start = len(resolver.failures)
    mx = query_mx(domain, resolver)
    try:
        anchors = plan.anchors()
    except AnchorError:
        anchors = None
    facts: list[DaneHostFacts] = []
    for _pref, host in sorted(mx.records):
        if host in ("", "."):
            continue
        try:
            tlsa = query_tlsa(host, resolver)
        except DnsError:
            continue
        if not tlsa:
            continue
        secure: bool | None = None
        if anchors is not None:
            try:
                validation, _ = Validator(
                    resolver, anchors, plan.now, plan.signed_answers
                ).validate(f"_25._tcp.{host}", "TLSA")
                secure = validation.security == "secure"
            except DnsError:
                secure = None
        addresses = mx.addresses.get(host) or []
        chain: Sequence[bytes] | None = None
        unreachable = "no address"
        if addresses:
            try:
                chain = plan.starttls(host, addresses[0]).chain
            except SmtpTlsError as error:
                unreachable = error.reason
        facts.append(DaneHostFacts(host, tlsa, secure, chain, unreachable))
    secured = [f.secure for f in facts]
    validated = None if not secured or None in secured else all(secured)
    return evaluate_dane(domain, facts, validated, resolver.failures[start:])
