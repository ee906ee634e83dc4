"""BIMI: the ``default._bimi`` record, the SVG Tiny PS logo, the mark certificate and DMARC.

``query_bimi`` retrieves (DNS through the sweep's resolver, the logo and
certificate through :mod:`checks.https_fetch`); ``evaluate_bimi`` is pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from checks.dmarc import check_dmarc, parse_record_tags
from checks.dns import DnsError, DnsFailure, ProbeResolver
from checks.findings import Finding, finding
from checks.https_fetch import UNDETERMINED, FetchError, fetch_https, parse_https_url
from checks.mark_certificate import describe_mark
from checks.mta_sts import resolve_addresses
from checks.spf import dns_failure_findings
from checks.svg_tiny_ps import svg_problems
from checks.transport import TransportPlan
from checks.transport_results import BimiResult, VmcFacts

# Fetches are bounded well above the logo limit, so that a too large logo is told as such.
MAX_FETCH_BYTES = 1024 * 1024
MARK_EXPIRY_WARN_DAYS = 30


@dataclass(frozen=True)
class Fetched:
    """A fetched body, or why it could not be had (a FetchError kind, reason, status)."""

    body: bytes | None = None
    failure: str | None = None
    reason: str | None = None
    status: int | None = None

    @property
    def undetermined(self) -> bool:
        return self.failure in UNDETERMINED or (
            self.failure == "status" and (self.status or 0) >= 500
        )


@dataclass(frozen=True)
class BimiFacts:
    records: Sequence[str] = ()
    dmarc_policy: str | None = None
    dmarc_pct: str | None = None
    dmarc_undetermined: bool = False
    logo: Fetched | None = None
    mark: Fetched | None = None
    failures: Sequence[DnsFailure] = field(default_factory=tuple)


def parse_bimi(record: str) -> dict[str, str] | None:
    """The tags of a ``v=BIMI1`` record; None when it is malformed."""
    tags: dict[str, str] = {}
    for raw in record.split(";"):
        part = raw.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            return None
        tags[key.strip().lower()] = value.strip()
    if tags.get("v") != "BIMI1":
        return None
    for key in ("l", "a"):
        if tags.get(key):
            try:
                parse_https_url(tags[key])
            except FetchError:
                return None
    return tags


def evaluate_bimi(domain: str, facts: BimiFacts, now: datetime) -> BimiResult:
    """Judge a domain's BIMI record, logo and mark certificate."""
    findings = dns_failure_findings(list(facts.failures))
    records = [r for r in facts.records if r.startswith("v=BIMI1")]
    if not records:
        if not findings:
            findings.append(finding("BIMI_MISSING", f"default._bimi.{domain} has no BIMI record."))
        return BimiResult(findings=tuple(findings))
    if len(records) > 1:
        findings.append(
            finding("BIMI_RECORD_MULTIPLE", f"default._bimi.{domain} has {len(records)} records.")
        )
        return BimiResult(findings=tuple(findings))
    record = records[0]
    tags = parse_bimi(record)
    if tags is None or not tags.get("l"):
        findings.append(finding("BIMI_RECORD_INVALID", f"default._bimi.{domain} has {record!r}."))
        return BimiResult(findings=tuple(findings), record=record)
    findings += _dmarc_findings(domain, facts)
    logo_valid, logo_findings = _logo_findings(tags["l"], facts.logo)
    findings += logo_findings
    vmc, mark_findings = _mark_findings(domain, tags.get("a"), facts, now)
    findings += mark_findings
    return BimiResult(
        findings=tuple(findings),
        record=record,
        logo_url=tags["l"],
        logo_valid=logo_valid,
        authority_url=tags.get("a") or None,
        vmc=vmc,
    )


def _dmarc_findings(domain: str, facts: BimiFacts) -> list[Finding]:
    if facts.dmarc_undetermined:
        return []  # the dmarc check reports why it could not tell
    pct = facts.dmarc_pct or "100"
    if facts.dmarc_policy in ("quarantine", "reject") and pct == "100":
        return []
    said = f"p={facts.dmarc_policy or 'missing'}" + (f", pct={pct}" if pct != "100" else "")
    return [finding("BIMI_DMARC_NOT_ENFORCED", f"The DMARC policy of {domain} is {said}.")]


def _logo_findings(url: str, logo: Fetched | None) -> tuple[bool | None, list[Finding]]:
    if logo is None or logo.body is None:
        reason = (logo.reason if logo else None) or "not fetched"
        if logo is None or logo.undetermined:
            return None, [finding("BIMI_LOGO_UNREACHABLE", f"{url}: {reason}.")]
        return False, [finding("BIMI_LOGO_FETCH_REFUSED", f"{url}: {reason}.")]
    problems = svg_problems(logo.body)
    if problems:
        return False, [finding("BIMI_LOGO_INVALID", f"{url}: {'; '.join(problems)}.")]
    return True, []


def _mark_findings(
    domain: str, url: str | None, facts: BimiFacts, now: datetime
) -> tuple[VmcFacts | None, list[Finding]]:
    if not url:
        return None, [finding("BIMI_NO_VMC", f"The BIMI record of {domain} has no a= certificate.")]
    mark = facts.mark
    if mark is None or mark.body is None:
        reason = (mark.reason if mark else None) or "not fetched"
        if mark is None or mark.undetermined:
            return None, [finding("BIMI_VMC_UNREACHABLE", f"{url}: {reason}.")]
        return None, [finding("BIMI_VMC_INVALID", f"{url}: {reason}.")]
    described = describe_mark(mark.body, domain, now)
    findings: list[Finding] = []
    if described.problems:
        findings.append(finding("BIMI_VMC_INVALID", f"{url}: {'; '.join(described.problems)}."))
    days = described.days_left
    if days is not None and days < 0:
        findings.append(finding("BIMI_VMC_EXPIRED", f"{url} expired {-days} days ago."))
    elif days is not None and days <= MARK_EXPIRY_WARN_DAYS:
        findings.append(finding("BIMI_VMC_EXPIRING", f"{url} expires in {days} days."))
    logo = facts.logo.body if facts.logo else None
    matches: bool | None = None
    if logo is not None and described.logos:
        matches = any(_same_svg(embedded, logo) for embedded in described.logos)
        if not matches:
            findings.append(
                finding("BIMI_VMC_LOGO_MISMATCH", f"The logo in {url} differs from the l= logo.")
            )
    return VmcFacts(
        subject=described.subject,
        expires=described.expires.isoformat() if described.expires else None,
        days_left=days,
        hash_matches=matches,
        kind=described.kind,
    ), findings


def _same_svg(one: bytes, other: bytes) -> bool:
    # Line ends and trailing blanks are not part of the picture.
    def norm(data: bytes) -> bytes:
        return b"\n".join(line.rstrip() for line in data.strip().splitlines())

    return norm(one) == norm(other)


def _fetch(url: str, resolver: ProbeResolver, plan: TransportPlan) -> Fetched:
    try:
        where = parse_https_url(url)
        addresses = resolve_addresses(where.host, resolver)
        response = fetch_https(
            where.host,
            where.path,
            addresses,
            port=where.port or plan.settings.https_port,
            timeout=plan.settings.connect_timeout,
            max_bytes=MAX_FETCH_BYTES,
            ca_file=plan.settings.ca_file,
        )
    except DnsError as error:
        return Fetched(failure="connect", reason=str(error))
    except FetchError as error:
        return Fetched(failure=error.kind, reason=error.reason, status=error.status)
    return Fetched(body=response.body)


def query_bimi(domain: str, resolver: ProbeResolver, plan: TransportPlan) -> BimiFacts:
    """Retrieve the record, DMARC's policy, and (with one valid record) the logo and certificate."""
    start = len(resolver.failures)
    try:
        records = resolver.lookup_txt(f"default._bimi.{domain}")
    except DnsError:
        return BimiFacts(failures=tuple(resolver.failures[start:]))
    bimi = [r for r in records if r.startswith("v=BIMI1")]
    tags = parse_bimi(bimi[0]) if len(bimi) == 1 else None
    if not tags or not tags.get("l"):
        return BimiFacts(records=records, failures=tuple(resolver.failures[start:]))
    dmarc = check_dmarc(domain, resolver)
    logo = _fetch(tags["l"], resolver, plan)
    mark = _fetch(tags["a"], resolver, plan) if tags.get("a") else None
    return BimiFacts(
        records=records,
        dmarc_policy=dmarc.policy,
        dmarc_pct=parse_record_tags(dmarc.record).get("pct") if dmarc.record else None,
        dmarc_undetermined=dmarc.status == "error",
        logo=logo,
        mark=mark,
        failures=tuple(resolver.failures[start:]),
    )


def check_bimi(domain: str, resolver: ProbeResolver, plan: TransportPlan) -> BimiResult:
    """Retrieve and judge the BIMI of ``domain``."""
    return evaluate_bimi(domain, query_bimi(domain, resolver, plan), plan.now)
