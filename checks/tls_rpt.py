"""TLS-RPT (RFC 8460): the ``_smtp._tls`` record and its report addresses.

A missing record is only information, unless the domain asks senders for
TLS (MTA-STS or DANE): then nobody would hear of the failures, and it warns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from checks.dns import DnsError, DnsFailure, ProbeResolver
from checks.findings import finding
from checks.mx import query_mx
from checks.spf import dns_failure_findings
from checks.transport_results import TlsRptResult

_MAILTO = re.compile(r"^mailto:[^@\s,;!]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+(!\d+[kmgt]?)?$", re.I)
_HTTPS = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?(/\S*)?$", re.I)


@dataclass(frozen=True)
class TlsRptFacts:
    """TXT records at ``_smtp._tls``, and whether MTA-STS or DANE is in use."""

    records: Sequence[str] = ()
    policy_in_use: bool = False
    failures: Sequence[DnsFailure] = field(default_factory=tuple)


def parse_rua(record: str) -> tuple[list[str], list[str]] | None:
    """(valid, invalid) rua URIs of a ``v=TLSRPTv1`` record; None when it has no rua."""
    fields: dict[str, str] = {}
    for part in record.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields[key.strip().lower()] = value.strip()
    if "rua" not in fields:
        return None
    uris = [uri.strip() for uri in fields["rua"].split(",") if uri.strip()]
    good = [uri for uri in uris if _MAILTO.match(uri) or _HTTPS.match(uri)]
    return good, [uri for uri in uris if uri not in good]


def evaluate_tls_rpt(domain: str, facts: TlsRptFacts) -> TlsRptResult:
    """Judge a domain's TLS-RPT record."""
    findings = dns_failure_findings(list(facts.failures))
    records = [r for r in facts.records if r.startswith("v=TLSRPTv1")]
    if not records:
        if not findings:
            code = "TLSRPT_MISSING_WITH_POLICY" if facts.policy_in_use else "TLSRPT_MISSING"
            findings.append(finding(code, f"_smtp._tls.{domain} has no TLS-RPT record."))
        return TlsRptResult(findings=tuple(findings))
    if len(records) > 1:
        findings.append(
            finding("TLSRPT_RECORD_MULTIPLE", f"_smtp._tls.{domain} has {len(records)} records.")
        )
        return TlsRptResult(findings=tuple(findings))
    record = records[0]
    parsed = parse_rua(record)
    if parsed is None or not parsed[0] or parsed[1]:
        bad = "no rua" if parsed is None else ", ".join(parsed[1]) or "no valid rua URI"
        findings.append(
            finding("TLSRPT_RECORD_INVALID", f"_smtp._tls.{domain} has {record!r}: {bad}.")
        )
    return TlsRptResult(
        findings=tuple(findings), record=record, rua=tuple(parsed[0]) if parsed else ()
    )


def query_tls_rpt(domain: str, resolver: ProbeResolver) -> TlsRptFacts:
    """The TLS-RPT records, and whether an MTA-STS record or a TLSA record of an MX exists."""
    start = len(resolver.failures)
    try:
        records = resolver.lookup_txt(f"_smtp._tls.{domain}")
    except DnsError:
        return TlsRptFacts(failures=tuple(resolver.failures[start:]))
    in_use = False
    try:
        in_use = any(r.startswith("v=STSv1") for r in resolver.lookup_txt(f"_mta-sts.{domain}"))
        if not in_use:
            hosts = [h for _p, h in query_mx(domain, resolver).records if h not in ("", ".")]
            in_use = any(resolver.lookup(f"_25._tcp.{host}", "TLSA") for host in hosts)
    except DnsError:
        pass  # a missing record is then judged as information only; the others report it
    return TlsRptFacts(records=records, policy_in_use=in_use)


def check_tls_rpt(domain: str, resolver: ProbeResolver) -> TlsRptResult:
    """Retrieve and judge the TLS-RPT record of ``domain``."""
    return evaluate_tls_rpt(domain, query_tls_rpt(domain, resolver))
