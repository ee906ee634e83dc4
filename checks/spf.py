"""SPF (RFC 7208): one record, at most 10 lookups and 2 void lookups, a sane ``all``.

``check_spf`` retrieves and walks the record with checkdmarc (through the
sweep's resolver); ``evaluate_spf`` turns what was found into findings and is
pure.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass

from checks._checkdmarc import spf as cd_spf
from checks.dns import DnsFailure, ProbeResolver
from checks.findings import Finding, finding
from checks.results import SpfInclude, SpfResult

MAX_LOOKUPS = 10
MAX_VOID_LOOKUPS = 2

# Terms that cost a DNS lookup (RFC 7208 section 4.6.4), with or without a qualifier.
_LOOKUP_TERM = re.compile(r"^[+?~-]?(include:|a\b|mx\b|ptr\b|exists:|redirect=)", re.IGNORECASE)
_TARGET_TERM = re.compile(r"^[+?~-]?(?:include:|redirect=)(\S+)$", re.IGNORECASE)
# Deep enough for any real chain; a loop or an absurd chain stops here.
MAX_TREE_DEPTH = 10
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
    include_tree: SpfInclude | None = None


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


def spf_include_tree(
    domain: str,
    records: Mapping[str, str | None],
    depth: int = 0,
    seen: frozenset[str] = frozenset(),
) -> SpfInclude:
    """The include tree of ``domain`` from its records and its includes' (pure): each
    node's own lookup terms and the total it costs. ``records`` maps a domain to its
    v=spf1 record (None: none found); a loop or a chain past
    :data:`MAX_TREE_DEPTH` ends the branch."""
    record = records.get(domain.lower())
    terms = record.split()[1:] if record else []
    lookups = sum(1 for term in terms if _LOOKUP_TERM.match(term))
    children: list[SpfInclude] = []
    if depth < MAX_TREE_DEPTH and domain.lower() not in seen:
        for term in terms:
            match = _TARGET_TERM.match(term)
            if match and "%" not in match.group(1):  # a macro names no fixed record
                child = spf_include_tree(
                    match.group(1), records, depth + 1, seen | {domain.lower()}
                )
                children.append(child)
    total = lookups + sum(child.total for child in children)
    return SpfInclude(domain.lower(), record, lookups, total, tuple(children))


def query_include_records(domain: str, resolver: ProbeResolver) -> dict[str, str | None]:
    """The v=spf1 records of ``domain`` and everything it includes or redirects to."""
    records: dict[str, str | None] = {}
    pending = [(domain.lower(), 0)]
    while pending:
        name, depth = pending.pop()
        if name in records or depth > MAX_TREE_DEPTH:
            continue
        try:
            record = cd_spf.query_spf_record(name, resolver=resolver)["record"]
        except cd_spf.SPFError:
            record = None
        records[name] = record
        for term in (record or "").split()[1:]:
            match = _TARGET_TERM.match(term)
            if match and "%" not in match.group(1):
                pending.append((match.group(1).lower(), depth + 1))
    return records


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
        include_tree=facts.include_tree,
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
        # Judged from the count by evaluate_spf, not from the message. Over the limit the
        # postmaster needs to see where the lookups go: the include tree (its records come
        # from the sweep's cache, mostly: checkdmarc has just walked them).
        lookups = (error.data or {}).get("dns_lookups")
        facts = _facts(resolver, start, record, problem=None, message=str(error), lookups=lookups)
        tree = spf_include_tree(domain, query_include_records(domain, resolver))
        return dataclasses.replace(facts, include_tree=tree)
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
