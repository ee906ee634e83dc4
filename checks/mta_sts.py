"""MTA-STS (RFC 8461): the ``_mta-sts`` record and the HTTPS policy that covers every MX.

``query_mta_sts`` retrieves (DNS through the sweep's resolver, the policy
through :mod:`checks.https_fetch`); ``evaluate_mta_sts`` is pure.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from checks.dns import DnsError, DnsFailure, ProbeResolver
from checks.findings import Finding, finding
from checks.https_fetch import UNDETERMINED, FetchError, fetch_https
from checks.mx import query_mx
from checks.spf import dns_failure_findings
from checks.transport import PreviousPolicy, TransportPlan
from checks.transport_results import MtaStsResult

POLICY_PATH = "/.well-known/mta-sts.txt"
MAX_POLICY_BYTES = 64 * 1024
MAX_AGE_LIMIT = 31_557_600  # RFC 8461 3.2
MAX_AGE_SHORT = 86_400
_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
MODES = ("enforce", "testing", "none")


@dataclass(frozen=True)
class PolicyFetch:
    """The policy text, or why it could not be had (a FetchError kind and reason)."""

    text: str | None = None
    content_type: str = "text/plain"
    failure: str | None = None
    reason: str | None = None
    status: int | None = None


@dataclass(frozen=True)
class MtaStsFacts:
    """The TXT records at ``_mta-sts``, the fetched policy, the MX hosts and the last policy."""

    records: Sequence[str] = ()
    fetch: PolicyFetch | None = None
    mx_hosts: Sequence[str] = ()
    previous: PreviousPolicy | None = None
    failures: Sequence[DnsFailure] = field(default_factory=tuple)


@dataclass(frozen=True)
class Policy:
    """A parsed policy; ``problems`` lists what makes it invalid."""

    version: str | None
    mode: str | None
    max_age: int | None
    mx: tuple[str, ...]
    problems: tuple[str, ...]


def parse_sts_record(text: str) -> dict[str, str] | None:
    """The fields of a ``v=STSv1`` record; None when it is malformed (no valid id)."""
    fields: dict[str, str] = {}
    for raw in text.split(";"):
        part = raw.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            return None
        fields[key.strip()] = value.strip()
    if fields.get("v") != "STSv1" or not _ID.match(fields.get("id", "")):
        return None
    return fields


def _first(values: dict[str, list[str]], key: str) -> str | None:
    found = values.get(key)
    return found[0] if found else None


def parse_policy(text: str) -> Policy:
    """Parse policy text (``key: value`` lines, LF or CRLF) and say what is wrong with it."""
    values: dict[str, list[str]] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            return Policy(None, None, None, (), (f"line {line[:40]!r} is not key: value",))
        values.setdefault(key.strip(), []).append(value.strip())
    version = _first(values, "version")
    mode = _first(values, "mode")
    age_text = _first(values, "max_age")
    mx = tuple(item.lower().rstrip(".") for item in values.get("mx", []))
    problems: list[str] = []
    if version != "STSv1":
        problems.append("version is not STSv1")
    if mode not in MODES:
        problems.append(f"mode {mode!r} is not enforce, testing or none")
    max_age: int | None = None
    if age_text is None or not (age_text.isascii() and age_text.isdigit()) or len(age_text) > 10:
        problems.append(f"max_age {age_text!r} is not a number of seconds")
    else:
        max_age = int(age_text)
    if mode in ("enforce", "testing") and not mx:
        problems.append("no mx: line")
    return Policy(version, mode, max_age, mx, tuple(problems))


def mx_matches(pattern: str, host: str) -> bool:
    """RFC 8461 4.1: a host matches itself, or ``*.`` covering exactly one leftmost label."""
    host = host.lower().rstrip(".")
    if pattern.startswith("*."):
        label, _dot, rest = host.partition(".")
        return bool(label) and rest == pattern[2:]
    return host == pattern


def policy_hash(text: str) -> str:
    """SHA-256 of the policy with line ends and trailing blanks normalised."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n")]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def evaluate_mta_sts(domain: str, facts: MtaStsFacts) -> MtaStsResult:
    """Judge a domain's MTA-STS record and policy."""
    findings = dns_failure_findings(list(facts.failures))
    records = [r for r in facts.records if r.startswith("v=STSv1")]
    if not records:
        if not findings:
            findings.append(finding("MTA_STS_MISSING", f"{domain} publishes no MTA-STS record."))
        return MtaStsResult(findings=tuple(findings))
    if len(records) > 1:
        findings.append(
            finding("MTA_STS_RECORD_MULTIPLE", f"_mta-sts.{domain} has {len(records)} records.")
        )
        return MtaStsResult(findings=tuple(findings))
    record = records[0]
    fields = parse_sts_record(record)
    if fields is None:
        findings.append(
            finding("MTA_STS_RECORD_INVALID", f"_mta-sts.{domain} has {record!r}: no valid id.")
        )
        return MtaStsResult(findings=tuple(findings), record=record)
    policy_id = fields["id"]
    fetch = facts.fetch or PolicyFetch(failure="connect", reason="not fetched")
    if fetch.text is None:
        findings.append(_fetch_finding(domain, fetch, facts.previous))
        return MtaStsResult(findings=tuple(findings), record=record, policy_id=policy_id)
    policy = parse_policy(fetch.text)
    problems = list(policy.problems)
    if fetch.content_type.split(";")[0].strip().lower() != "text/plain":
        problems.append(f"served as {fetch.content_type or 'no content type'}, not text/plain")
    if problems:
        findings.append(
            finding("MTA_STS_POLICY_INVALID", f"The policy of {domain}: {'; '.join(problems)}.")
        )
    findings += _judge_policy(domain, policy, facts.mx_hosts)
    digest = policy_hash(fetch.text)
    previous = facts.previous
    # The policy first seen under this id: it stays the baseline until the id
    # changes, so the warning holds for as long as the id is stale.
    baseline = previous.sha256 if previous and previous.policy_id == policy_id else digest
    if baseline != digest:
        findings.append(
            finding(
                "MTA_STS_ID_UNCHANGED",
                f"The policy of {domain} changed since the last run but its id is still "
                f"{policy_id!r}.",
            )
        )
    return MtaStsResult(
        findings=tuple(findings),
        record=record,
        policy_id=policy_id,
        mode=policy.mode,
        max_age=policy.max_age,
        mx_patterns=policy.mx,
        policy_sha256=digest,
        id_policy_sha256=baseline,
    )


def _judge_policy(domain: str, policy: Policy, mx_hosts: Sequence[str]) -> list[Finding]:
    findings: list[Finding] = []
    if policy.mode == "testing":
        findings.append(finding("MTA_STS_MODE_TESTING", f"The policy of {domain} is testing."))
    elif policy.mode == "none":
        findings.append(finding("MTA_STS_MODE_NONE", f"The policy of {domain} has mode none."))
    if policy.max_age is not None:
        if policy.max_age > MAX_AGE_LIMIT:
            findings.append(
                finding(
                    "MTA_STS_MAX_AGE_TOO_LONG",
                    f"max_age {policy.max_age} of {domain} is over {MAX_AGE_LIMIT} seconds.",
                )
            )
        elif policy.max_age < MAX_AGE_SHORT:
            findings.append(
                finding(
                    "MTA_STS_MAX_AGE_SHORT",
                    f"max_age {policy.max_age} of {domain} is under a day.",
                )
            )
    if policy.mode in ("enforce", "testing"):
        for host in mx_hosts:
            if host and not any(mx_matches(pattern, host) for pattern in policy.mx):
                findings.append(
                    finding(
                        "MTA_STS_MX_NOT_COVERED",
                        f"MX host {host} of {domain} matches no mx: line of the policy "
                        f"({', '.join(policy.mx) or 'none'}).",
                    )
                )
    return findings


def _fetch_finding(domain: str, fetch: PolicyFetch, previous: PreviousPolicy | None) -> Finding:
    where = f"https://mta-sts.{domain}{POLICY_PATH}"
    reason = fetch.reason or fetch.failure or "unknown"
    undetermined = fetch.failure in UNDETERMINED or (
        fetch.failure == "status" and (fetch.status or 0) >= 500
    )
    if undetermined:
        if previous is not None and previous.mode == "enforce":
            return finding(
                "MTA_STS_ENFORCE_UNREACHABLE",
                f"{where} could not be fetched ({reason}); the last policy seen was enforce.",
            )
        return finding("MTA_STS_POLICY_UNREACHABLE", f"{where} could not be fetched: {reason}.")
    code = {
        "certificate": "MTA_STS_POLICY_CERTIFICATE",
        "tls": "MTA_STS_POLICY_CERTIFICATE",
        "redirect": "MTA_STS_POLICY_REDIRECT",
        "too_large": "MTA_STS_POLICY_TOO_LARGE",
    }.get(fetch.failure or "", "MTA_STS_POLICY_HTTP")
    return finding(code, f"{where}: {reason}.")


def resolve_addresses(host: str, resolver: ProbeResolver) -> list[str]:
    """A and AAAA of ``host`` through the DNS seam (DnsError when undeterminable)."""
    return [r.to_text() for rdtype in ("A", "AAAA") for r in resolver.lookup(host, rdtype)]


def fetch_policy(domain: str, resolver: ProbeResolver, plan: TransportPlan) -> PolicyFetch:
    """The policy of ``domain`` from ``https://mta-sts.DOMAIN``, or why not."""
    host = f"mta-sts.{domain}"
    try:
        addresses = resolve_addresses(host, resolver)
    except DnsError as error:
        return PolicyFetch(failure="connect", reason=str(error))
    settings = plan.settings
    try:
        response = fetch_https(
            host,
            POLICY_PATH,
            addresses,
            port=settings.https_port,
            timeout=settings.connect_timeout,
            max_bytes=MAX_POLICY_BYTES,
            ca_file=settings.ca_file,
        )
    except FetchError as error:
        return PolicyFetch(failure=error.kind, reason=error.reason, status=error.status)
    return PolicyFetch(
        text=response.body.decode("utf-8", "replace"), content_type=response.content_type
    )


def query_mta_sts(domain: str, resolver: ProbeResolver, plan: TransportPlan) -> MtaStsFacts:
    """Retrieve the record, the policy (when there is one record) and the MX hosts."""
    start = len(resolver.failures)
    try:
        records = resolver.lookup_txt(f"_mta-sts.{domain}")
    except DnsError:
        return MtaStsFacts(failures=tuple(resolver.failures[start:]))
    sts = [r for r in records if r.startswith("v=STSv1")]
    fetch = fetch_policy(domain, resolver, plan) if len(sts) == 1 else None
    mx = query_mx(domain, resolver)
    hosts = tuple(host for _pref, host in mx.records if host not in ("", "."))
    return MtaStsFacts(
        records=records,
        fetch=fetch,
        mx_hosts=hosts,
        previous=plan.previous_policies.get(domain),
        failures=tuple(resolver.failures[start:]),
    )


def check_mta_sts(domain: str, resolver: ProbeResolver, plan: TransportPlan) -> MtaStsResult:
    """Retrieve and judge the MTA-STS of ``domain``."""
    return evaluate_mta_sts(domain, query_mta_sts(domain, resolver, plan))
