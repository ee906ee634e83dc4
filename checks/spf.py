"""SPF (RFC 7208): one record, at most 10 lookups and 2 void lookups, a sane ``all``.

``check_spf`` retrieves and walks the record with checkdmarc (through the
sweep's resolver); ``evaluate_spf`` turns what was found into findings and is
pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from checks._checkdmarc import spf as cd_spf
from checks.dns import DnsFailure, ProbeResolver
from checks.findings import Finding, finding
from checks.results import SpfResult

MAX_LOOKUPS = 10
MAX_VOID_LOOKUPS = 2

_ALL_TERM = re.compile(r"^([+?~-]?)all$", re.IGNORECASE)
_QUALIFIERS = {"": "+", "+": "+", "-": "-", "~": "~", "?": "?"}


@dataclass(frozen=True)
class SpfFacts:
    """What retrieval found, before any judgement."""

    record: str | None = None
    dns_lookups: int | None = None
    void_lookups: int | None = None
    # "missing", "multiple", "syntax" or "permerror" when evaluation stopped.
    problem: str | None = None
    problem_message: str | None = None
    warnings: tuple[str, ...] = ()
    failures: tuple[DnsFailure, ...] = ()


def parse_all_qualifier(record: str) -> str | None:
    """The qualifier of the record's ``all`` term (``+ - ~ ?``), None without one."""
    for term in record.split()[1:]:
        match = _ALL_TERM.match(term)
        if match:
            return _QUALIFIERS[match.group(1)]
    return None


def has_redirect(record: str) -> bool:
    """Whether the record delegates to another with ``redirect=``."""
    return any(term.lower().startswith("redirect=") for term in record.split()[1:])


def dns_failure_findings(failures: tuple[DnsFailure, ...] | list[DnsFailure]) -> list[Finding]:
    """One ``DNS_LOOKUP_FAILED`` finding per distinct failed lookup."""
    return [
        finding("DNS_LOOKUP_FAILED", f"Could not resolve {failure.describe()}.")
        for failure in dict.fromkeys(failures)
    ]


def evaluate_spf(domain: str, facts: SpfFacts) -> SpfResult:
    """Judge an SPF record by DESIGN.md's rules."""
    findings = dns_failure_findings(facts.failures)
    undetermined = bool(facts.failures)
    record = facts.record
    if facts.problem == "multiple":
        findings.append(
            finding("SPF_MULTIPLE_RECORDS", f"{domain} publishes more than one v=spf1 record.")
        )
    elif facts.problem == "missing" and not undetermined:
        findings.append(finding("SPF_MISSING", f"{domain} publishes no SPF record."))
    elif facts.problem == "syntax":
        findings.append(
            finding(
                "SPF_SYNTAX_ERROR",
                f"The SPF record of {domain} does not parse: {facts.problem_message}",
            )
        )
    elif facts.problem == "permerror" and not undetermined:
        findings.append(
            finding("SPF_PERMERROR", f"SPF evaluation of {domain} fails: {facts.problem_message}")
        )
    if facts.dns_lookups is not None and facts.dns_lookups > MAX_LOOKUPS:
        findings.append(
            finding(
                "SPF_TOO_MANY_LOOKUPS",
                f"Evaluating the SPF record of {domain} needs at least "
                f"{facts.dns_lookups} DNS lookups; the limit is {MAX_LOOKUPS}.",
            )
        )
    if facts.void_lookups is not None and facts.void_lookups > MAX_VOID_LOOKUPS:
        findings.append(
            finding(
                "SPF_TOO_MANY_VOID_LOOKUPS",
                f"The SPF record of {domain} has {facts.void_lookups} void lookups; "
                f"the limit is {MAX_VOID_LOOKUPS}.",
            )
        )
    qualifier = parse_all_qualifier(record) if record else None
    if record and facts.problem not in ("syntax", "multiple"):
        if qualifier == "+":
            findings.append(finding("SPF_PASS_ALL", f"The SPF record of {domain} ends in +all."))
        elif qualifier == "?":
            findings.append(finding("SPF_NEUTRAL_ALL", f"The SPF record of {domain} ends in ?all."))
        elif qualifier is None and not has_redirect(record):
            findings.append(
                finding("SPF_NO_ALL", f"The SPF record of {domain} has no all mechanism.")
            )
    if not undetermined:
        for warning in facts.warnings:
            findings.append(finding("SPF_WARNING", warning))
    return SpfResult(
        findings=tuple(findings),
        record=record,
        dns_lookups=facts.dns_lookups,
        void_lookups=facts.void_lookups,
        all_qualifier=qualifier,
    )


def query_spf(domain: str, resolver: ProbeResolver) -> SpfFacts:
    """Retrieve and walk the SPF record of ``domain`` (never raises for DNS)."""
    start = len(resolver.failures)
    record: str | None = None
    try:
        queried = cd_spf.query_spf_record(domain, resolver=resolver)
        record = queried["record"]
        warnings = list(queried["warnings"])
        # Over the limits checkdmarc raises with the count in error.data,
        # which is the number we judge by.
        parsed = cd_spf.parse_spf_record(record, domain, resolver=resolver)
    except cd_spf.MultipleSPFRTXTRecords as error:
        return _facts(resolver, start, record, problem="multiple", message=str(error))
    except cd_spf.SPFRecordNotFound as error:
        missing = "missing" if record is None else "permerror"
        return _facts(resolver, start, record, problem=missing, message=str(error))
    except cd_spf.SPFTooManyDNSLookups as error:
        # Judged from the count by evaluate_spf, not from the message.
        lookups = (error.data or {}).get("dns_lookups")
        return _facts(resolver, start, record, problem=None, message=str(error), lookups=lookups)
    except cd_spf.SPFTooManyVoidDNSLookups as error:
        void = (error.data or {}).get("void_dns_lookups")
        return _facts(resolver, start, record, problem=None, message=str(error), void=void)
    except cd_spf.SPFSyntaxError as error:
        return _facts(resolver, start, record, problem="syntax", message=str(error))
    except cd_spf.SPFError as error:
        lookups = (error.data or {}).get("dns_lookups")
        return _facts(
            resolver, start, record, problem="permerror", message=str(error), lookups=lookups
        )
    error_text = parsed.get("error")
    problem = "permerror" if error_text else None
    return SpfFacts(
        record=record,
        dns_lookups=parsed["dns_lookups"],
        void_lookups=parsed["void_dns_lookups"],
        problem=problem,
        problem_message=str(error_text) if error_text else None,
        warnings=tuple(warnings + list(parsed["warnings"])),
        failures=tuple(resolver.failures[start:]),
    )


def _facts(
    resolver: ProbeResolver,
    start: int,
    record: str | None,
    *,
    problem: str | None,
    message: str,
    lookups: int | None = None,
    void: int | None = None,
) -> SpfFacts:
    return SpfFacts(
        record=record,
        dns_lookups=lookups,
        void_lookups=void,
        problem=problem,
        problem_message=message,
        failures=tuple(resolver.failures[start:]),
    )


def check_spf(domain: str, resolver: ProbeResolver) -> SpfResult:
    """Retrieve and judge the SPF record of ``domain``."""
    return evaluate_spf(domain, query_spf(domain, resolver))
