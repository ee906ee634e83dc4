"""DMARC (RFC 7489, RFC 9989/9990): one record, a policy that enforces, authorised reports.

``query_dmarc`` retrieves and parses with checkdmarc through the sweep's
resolver (including the organisational-domain fallback and the external
report authorisation lookups); ``evaluate_dmarc`` is pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from checks._checkdmarc import dmarc as cd_dmarc
from checks.dns import DnsFailure, ProbeResolver
from checks.findings import finding
from checks.results import DmarcResult
from checks.spf import dns_failure_findings

# checkdmarc reports an unauthorised external report destination as a
# warning string; this is the stable part of that message.
_UNAUTHORIZED_MARKER = "does not indicate that it accepts DMARC reports"
# checkdmarc warnings that repeat a finding of our own.
_REDUNDANT_MARKERS = (
    "p tag value of none",
    "sp tag value of none",
    "rua tag (destination for aggregate reports) not found",
    "Support for the pct tag was removed",
)
_ENFORCING = ("quarantine", "reject")


def parse_record_tags(record: str) -> dict[str, str]:
    """The raw ``tag=value`` pairs of a DMARC record, names lower-cased.

    checkdmarc follows RFC 9989 and drops tags it removed (``pct``), but
    receivers that implement RFC 7489 still apply them, so the record's own
    text is read for those.
    """
    tags: dict[str, str] = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        if sep and name.strip():
            tags.setdefault(name.strip().lower(), value.strip())
    return tags


@dataclass(frozen=True)
class DmarcFacts:
    """What retrieval found, before any judgement."""

    record: str | None = None
    location: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    # Tags the record states, as opposed to defaults filled in by the parser.
    explicit: frozenset[str] = frozenset()
    # "missing", "multiple" or "syntax" when no usable record was found.
    problem: str | None = None
    problem_message: str | None = None
    warnings: tuple[str, ...] = ()
    failures: tuple[DnsFailure, ...] = ()


def evaluate_dmarc(domain: str, facts: DmarcFacts) -> DmarcResult:
    """Judge a DMARC record by DESIGN.md's rules."""
    findings = dns_failure_findings(facts.failures)
    undetermined = bool(facts.failures)
    if facts.problem == "multiple":
        findings.append(
            finding("DMARC_MULTIPLE_RECORDS", f"_dmarc.{domain} has more than one v=DMARC1 record.")
        )
    elif facts.problem == "missing" and not undetermined:
        findings.append(
            finding(
                "DMARC_MISSING", f"Neither {domain} nor its organisational domain publishes DMARC."
            )
        )
    elif facts.problem == "syntax":
        findings.append(
            finding(
                "DMARC_SYNTAX_ERROR",
                f"The DMARC record of {domain} is invalid: {facts.problem_message}",
            )
        )
    tags = facts.tags
    policy = tags.get("p")
    if facts.problem is None and facts.record:
        if facts.location and facts.location.lower() != domain.lower():
            findings.append(
                finding(
                    "DMARC_FOUND_AT_ORGANIZATIONAL_DOMAIN",
                    f"{domain} has no DMARC record of its own; "
                    f"the policy of {facts.location} applies.",
                )
            )
        if policy == "none":
            findings.append(
                finding(
                    "DMARC_POLICY_NONE",
                    f"The DMARC policy of {domain} is p=none: nothing is enforced.",
                )
            )
        pct = parse_record_tags(facts.record).get("pct", "100")
        # isdigit() alone takes '²', which int() refuses.
        if pct.isascii() and pct.isdigit() and int(pct) < 100 and policy in _ENFORCING:
            findings.append(
                finding(
                    "DMARC_PARTIAL_PCT",
                    f"The DMARC policy of {domain} applies to {pct}% of mail at receivers "
                    "that still honour pct (RFC 9989 removed it).",
                )
            )
        if policy in _ENFORCING:
            for tag, what in (("sp", "subdomains"), ("np", "non-existent subdomains")):
                if tag in facts.explicit and tags.get(tag) == "none":
                    findings.append(
                        finding(
                            "DMARC_SUBDOMAIN_POLICY_NONE",
                            f"The DMARC record of {domain} has {tag}=none: mail from its "
                            f"{what} is not protected although p={policy}.",
                        )
                    )
        if tags.get("t", "n").lower() == "y":
            findings.append(finding("DMARC_TESTING", f"The DMARC record of {domain} has t=y."))
        if not tags.get("rua"):
            findings.append(
                finding("DMARC_NO_REPORTS", f"The DMARC record of {domain} has no rua tag.")
            )
    if not undetermined:
        for warning in facts.warnings:
            if any(marker in warning for marker in _REDUNDANT_MARKERS):
                continue
            if _UNAUTHORIZED_MARKER in warning:
                findings.append(finding("DMARC_RUA_UNAUTHORIZED", warning))
            else:
                findings.append(finding("DMARC_WARNING", warning))
    rua = tuple(uri.strip() for uri in tags.get("rua", "").split(",") if uri.strip())
    return DmarcResult(
        findings=tuple(findings),
        record=facts.record,
        policy=policy,
        location=facts.location,
        subdomain_policy=tags.get("sp"),
        nonexistent_subdomain_policy=tags.get("np"),
        testing=tags.get("t", "n").lower() == "y" if facts.record else None,
        rua=rua,
    )


def query_dmarc(domain: str, resolver: ProbeResolver) -> DmarcFacts:
    """Retrieve and parse the DMARC record that applies to ``domain``."""
    start = len(resolver.failures)
    record: str | None = None
    location: str | None = None
    try:
        queried = cd_dmarc.query_dmarc_record(domain, resolver=resolver)
        record, location = queried["record"], queried["location"]
        warnings = list(queried["warnings"])
        if record is None:
            return _facts(resolver, start, None, None, "missing", "no record")
        parsed = cd_dmarc.parse_dmarc_record(record, location or domain, resolver=resolver)
    except cd_dmarc.MultipleDMARCRecords as error:
        return _facts(resolver, start, record, location, "multiple", str(error))
    except cd_dmarc.DMARCRecordNotFound as error:
        return _facts(resolver, start, record, location, "missing", str(error))
    except cd_dmarc.DMARCError as error:
        # Without a record, the error is about retrieving it, not its syntax.
        problem = "syntax" if record else "missing"
        return _facts(resolver, start, record, location, problem, str(error))
    tags = {name: str(value["value"]) for name, value in parsed["tags"].items()}
    explicit = frozenset(name for name, value in parsed["tags"].items() if value.get("explicit"))
    raw_rua = parsed["tags"].get("rua", {}).get("value") or []
    if isinstance(raw_rua, list):
        tags["rua"] = ",".join(
            f"{uri.get('scheme', 'mailto')}:{uri.get('address')}"
            if isinstance(uri, dict)
            else str(uri)
            for uri in raw_rua
        )
    return DmarcFacts(
        record=record,
        location=location,
        tags=tags,
        explicit=explicit,
        warnings=tuple(warnings + list(parsed["warnings"])),
        failures=tuple(resolver.failures[start:]),
    )


def _facts(
    resolver: ProbeResolver,
    start: int,
    record: str | None,
    location: str | None,
    problem: str,
    message: str,
) -> DmarcFacts:
    return DmarcFacts(
        record=record,
        location=location,
        problem=problem,
        problem_message=message,
        failures=tuple(resolver.failures[start:]),
    )


def check_dmarc(domain: str, resolver: ProbeResolver) -> DmarcResult:
    """Retrieve and judge the DMARC record of ``domain``."""
    return evaluate_dmarc(domain, query_dmarc(domain, resolver))
