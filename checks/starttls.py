"""STARTTLS on every MX host: TLS 1.2 or later, a certificate valid for the MX name, its expiry.

``query_starttls`` connects (through :mod:`checks.smtp_tls`, once per sweep
and MX address, shared with the ``dane`` check); ``evaluate_starttls`` is
pure: DER certificates and a trust store in, findings out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509

from checks.certificates import describe_chain
from checks.dane import Tlsa, chain_matches_tlsa, query_tlsa
from checks.dns import DnsError, DnsFailure, ProbeResolver
from checks.findings import Finding, finding
from checks.mx import query_mx
from checks.smtp_tls import SmtpTlsError, TlsSession
from checks.spf import dns_failure_findings
from checks.transport import TransportPlan
from checks.transport_results import StarttlsHost, StarttlsResult

GOOD_VERSIONS = ("TLSv1.2", "TLSv1.3")


@dataclass(frozen=True)
class HostProbe:
    """One MX host: the address tried, the handshake or why it failed, and its TLSA records."""

    host: str
    address: str | None
    session: TlsSession | None = None
    failure_kind: str | None = None
    failure: str | None = None
    tlsa: Sequence[Tlsa] = ()


@dataclass(frozen=True)
class StarttlsFacts:
    hosts: Sequence[HostProbe] = ()
    failures: Sequence[DnsFailure] = field(default_factory=tuple)


@dataclass(frozen=True)
class CertificatePolicy:
    """When a certificate's expiry warns and fails, and what it is verified against."""

    now: datetime
    trusted: Sequence[x509.Certificate]
    warn_days: int = 30
    fail_days: int = 7


def evaluate_starttls(
    domain: str, facts: StarttlsFacts, policy: CertificatePolicy
) -> StarttlsResult:
    """Judge STARTTLS on each MX host of ``domain``."""
    findings = dns_failure_findings(list(facts.failures))
    hosts: dict[str, StarttlsHost] = {}
    if not facts.hosts and not findings:
        findings.append(finding("STARTTLS_NO_MX", f"{domain} has no MX host to check."))
    for probe in facts.hosts:
        host_findings, detail = _judge_host(probe, policy)
        findings += host_findings
        hosts[probe.host] = detail
    return StarttlsResult(findings=tuple(findings), hosts=hosts)


def _judge_host(probe: HostProbe, policy: CertificatePolicy) -> tuple[list[Finding], StarttlsHost]:
    host = probe.host
    if probe.session is None:
        code = {
            "no_starttls": "STARTTLS_NOT_OFFERED",
            "handshake": "STARTTLS_HANDSHAKE_FAILED",
        }.get(probe.failure_kind or "", "STARTTLS_CONNECT_FAILED")
        reason = probe.failure or "no address"
        return [finding(code, f"MX host {host}: {reason}.")], StarttlsHost(
            address=probe.address, error=reason
        )
    session = probe.session
    findings: list[Finding] = []
    if session.tls_version not in GOOD_VERSIONS:
        findings.append(
            finding("STARTTLS_OLD_TLS", f"MX host {host} negotiated {session.tls_version}.")
        )
    try:
        facts = describe_chain(session.chain, host, policy.now, policy.trusted)
    except ValueError as error:
        findings.append(finding("STARTTLS_CERT_UNREADABLE", f"MX host {host}: {error}."))
        return findings, StarttlsHost(address=probe.address, tls_version=session.tls_version)
    dane = bool(probe.tlsa) and chain_matches_tlsa(probe.tlsa, session.chain)
    if not facts.name_matches and not dane:
        findings.append(
            finding(
                "STARTTLS_CERT_NAME_MISMATCH",
                f"The certificate of MX host {host} is for {', '.join(facts.subject_names)}.",
            )
        )
    if not facts.chain_valid and not dane:
        findings.append(
            finding(
                "STARTTLS_CERT_CHAIN_INVALID",
                f"The certificate chain of MX host {host} does not verify: {facts.chain_error}.",
            )
        )
    expires = facts.expires.date().isoformat()
    if facts.days_left < 0:
        findings.append(
            finding("STARTTLS_CERT_EXPIRED", f"The certificate of {host} expired on {expires}.")
        )
    elif facts.days_left <= policy.fail_days:
        findings.append(
            finding(
                "STARTTLS_CERT_EXPIRES_SOON",
                f"The certificate of {host} expires on {expires}, in {facts.days_left} days.",
            )
        )
    elif facts.days_left <= policy.warn_days:
        findings.append(
            finding(
                "STARTTLS_CERT_EXPIRING",
                f"The certificate of {host} expires on {expires}, in {facts.days_left} days.",
            )
        )
    return findings, StarttlsHost(
        address=probe.address,
        tls_version=session.tls_version,
        certificate_expires=facts.expires.isoformat(),
        days_left=facts.days_left,
        name_matches=facts.name_matches,
        chain_valid=facts.chain_valid,
        names=facts.subject_names,
    )


def probe_host(
    host: str, addresses: Sequence[str], resolver: ProbeResolver, plan: TransportPlan
) -> HostProbe:
    """STARTTLS with the first address of ``host`` (the sweep's one session) and its TLSA."""
    try:
        tlsa = query_tlsa(host, resolver)
    except DnsError:
        tlsa = []
    if not addresses:
        return HostProbe(host, None, failure_kind="connect", failure="no address", tlsa=tlsa)
    address = addresses[0]
    try:
        session = plan.starttls(host, address)
    except SmtpTlsError as error:
        return HostProbe(host, address, failure_kind=error.kind, failure=error.reason, tlsa=tlsa)
    return HostProbe(host, address, session=session, tlsa=tlsa)


def query_starttls(domain: str, resolver: ProbeResolver, plan: TransportPlan) -> StarttlsFacts:
    """Connect to every MX host of ``domain`` (the sweep connects once per host)."""
    start = len(resolver.failures)
    mx = query_mx(domain, resolver)
    hosts = [
        probe_host(host, mx.addresses.get(host, ()), resolver, plan)
        for _pref, host in sorted(mx.records)
        if host not in ("", ".")
    ]
    return StarttlsFacts(hosts=hosts, failures=tuple(resolver.failures[start:]))


def certificate_policy(plan: TransportPlan) -> CertificatePolicy:
    """The plan's time, trust store and expiry thresholds."""
    return CertificatePolicy(
        now=plan.now,
        trusted=plan.trusted(),
        warn_days=plan.settings.certificate_warn_days,
        fail_days=plan.settings.certificate_fail_days,
    )


def check_starttls(domain: str, resolver: ProbeResolver, plan: TransportPlan) -> StarttlsResult:
    """Retrieve and judge STARTTLS on every MX host of ``domain``."""
    return evaluate_starttls(
        domain, query_starttls(domain, resolver, plan), certificate_policy(plan)
    )
