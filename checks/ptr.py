"""PTR with forward confirmation (FCrDNS) for sending IPs.

Gmail, Yahoo and Microsoft require of bulk senders that the sending IP has a
PTR record naming a host that resolves back to the same IP.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import dns.reversename

from checks.dns import DnsError, DnsFailure, ProbeResolver
from checks.findings import finding
from checks.results import PtrResult
from checks.spf import dns_failure_findings


@dataclass(frozen=True)
class PtrFacts:
    """PTR host names and, per host name, its forward addresses."""

    hostnames: Sequence[str] = ()
    forward: Mapping[str, Sequence[str]] = field(default_factory=dict)
    failures: Sequence[DnsFailure] = ()


def evaluate_ptr(ip: str, facts: PtrFacts) -> PtrResult:
    """Judge the reverse DNS of ``ip``."""
    findings = dns_failure_findings(list(facts.failures))
    hostnames = tuple(facts.hostnames)
    undetermined = bool(facts.failures)
    if not hostnames:
        if not undetermined:
            findings.append(finding("PTR_MISSING", f"{ip} has no PTR record."))
        return PtrResult(findings=tuple(findings), fcrdns=None if undetermined else False)
    wanted = ipaddress.ip_address(ip)
    confirmed = any(
        ipaddress.ip_address(address) == wanted
        for host in hostnames
        for address in facts.forward.get(host, ())
    )
    if len(hostnames) > 1:
        findings.append(finding("PTR_MULTIPLE", f"{ip} has {len(hostnames)} PTR records."))
    if not confirmed and not undetermined:
        findings.append(
            finding(
                "PTR_NOT_FORWARD_CONFIRMED",
                f"{ip} points to {', '.join(hostnames)}, which does not resolve back to {ip}.",
            )
        )
    fcrdns: bool | None = confirmed if (confirmed or not undetermined) else None
    return PtrResult(findings=tuple(findings), hostnames=hostnames, fcrdns=fcrdns)


def query_ptr(ip: str, resolver: ProbeResolver) -> PtrFacts:
    """Retrieve the PTR names of ``ip`` and their forward addresses."""
    start = len(resolver.failures)
    reverse = dns.reversename.from_address(ip).to_text()
    try:
        hostnames = [r.to_text().rstrip(".").lower() for r in resolver.lookup(reverse, "PTR")]
    except DnsError:
        return PtrFacts(failures=tuple(resolver.failures[start:]))
    rdtype = "AAAA" if ipaddress.ip_address(ip).version == 6 else "A"
    forward: dict[str, list[str]] = {}
    for host in hostnames:
        try:
            forward[host] = [r.to_text() for r in resolver.lookup(host, rdtype)]
        except DnsError:
            continue
    return PtrFacts(hostnames, forward, tuple(resolver.failures[start:]))


def check_ptr(ip: str, resolver: ProbeResolver) -> PtrResult:
    """Retrieve and judge the reverse DNS of ``ip``."""
    return evaluate_ptr(ip, query_ptr(ip, resolver))
