"""MX: a sending domain must be able to receive its bounces.

``query_mx`` retrieves the MX set and each host's addresses; ``evaluate_mx``
is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from checks.dns import DnsError, DnsFailure, ProbeResolver
from checks.findings import finding
from checks.results import MxHost, MxResult
from checks.spf import dns_failure_findings


@dataclass(frozen=True)
class MxFacts:
    """MX records as (preference, host), each host's addresses, and the fallback."""

    records: Sequence[tuple[int, str]] = ()
    addresses: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # The domain's own A/AAAA, looked up only when there is no MX (RFC 5321 5.1).
    fallback_addresses: Sequence[str] = ()
    failures: Sequence[DnsFailure] = ()


def evaluate_mx(domain: str, facts: MxFacts) -> MxResult:
    """Judge a domain's MX set."""
    findings = dns_failure_findings(list(facts.failures))
    records = sorted(facts.records)
    hosts = tuple(host for _pref, host in records)
    if any(f.level == "error" for f in findings) and not records:
        return MxResult(findings=tuple(findings))
    if not records:
        if facts.fallback_addresses:
            findings.append(
                finding(
                    "MX_IMPLICIT", f"{domain} has no MX record; mail goes to its A/AAAA address."
                )
            )
        else:
            findings.append(finding("MX_MISSING", f"{domain} has no MX record and no address."))
        return MxResult(findings=tuple(findings))
    if hosts in (("",), (".",)):
        findings.append(finding("MX_NULL", f"{domain} publishes a null MX (RFC 7505)."))
        return MxResult(findings=tuple(findings), hosts=hosts)
    resolved = [host for host in hosts if facts.addresses.get(host)]
    unknown = [host for host in hosts if host not in facts.addresses]
    dead = [host for host in hosts if host in facts.addresses and not facts.addresses[host]]
    if not resolved and not unknown:
        findings.append(
            finding("MX_NO_RESOLVABLE_HOST", f"None of the MX hosts of {domain} has an address.")
        )
    else:
        findings.extend(
            finding("MX_HOST_UNRESOLVABLE", f"MX host {host} of {domain} has no A/AAAA record.")
            for host in dead
        )
    details = tuple(
        MxHost(host=host, preference=pref, addresses=tuple(facts.addresses.get(host, ())))
        for pref, host in records
    )
    return MxResult(findings=tuple(findings), hosts=hosts, records=details)


def query_mx(domain: str, resolver: ProbeResolver) -> MxFacts:
    """Retrieve the MX set of ``domain`` and the addresses of its hosts."""
    start = len(resolver.failures)
    try:
        rdatas = resolver.lookup(domain, "MX")
    except DnsError:
        return MxFacts(failures=tuple(resolver.failures[start:]))
    records = [
        (int(r.preference), r.exchange.to_text().rstrip(".").lower())  # type: ignore[attr-defined]
        for r in rdatas
    ]
    addresses: dict[str, list[str]] = {}
    fallback: list[str] = []
    if not records:
        fallback = _addresses(domain, resolver) or []
    for _pref, host in records:
        if host in ("", "."):
            continue
        found = _addresses(host, resolver)
        if found is not None:
            addresses[host] = found
    return MxFacts(records, addresses, fallback, tuple(resolver.failures[start:]))


def _addresses(host: str, resolver: ProbeResolver) -> list[str] | None:
    """A and AAAA of ``host``; None when that could not be determined."""
    found: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            found += [r.to_text() for r in resolver.lookup(host, rdtype)]
        except DnsError:
            return None
    return found


def check_mx(domain: str, resolver: ProbeResolver) -> MxResult:
    """Retrieve and judge the MX set of ``domain``."""
    return evaluate_mx(domain, query_mx(domain, resolver))
