"""How results are shown: JSON for machines, compact tables for people.

Every table the command line prints (checks, listings, findings, rates, the list audit,
audited messages) is rendered here, so the commands and the demo show the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import click

from checks.findings import CATALOGUE, STATUS_RANK, Finding
from checks.results import (
    BlocklistResult,
    CheckResult,
    DkimResult,
    SpfResult,
    TargetResult,
    to_json,
)
from store.timestamps import as_utc

if TYPE_CHECKING:
    from compliance.audit.list_audit import AuditResult
    from compliance.rates.results import MetricResult, RatesResult
    from monitor.message_audits import AuditedMessage

_COLOURS = {"pass": "green", "warn": "yellow", "error": "magenta", "fail": "red"}
_LEVEL_RANK = {"info": 0, "warn": 1, "error": 2, "fail": 3}


def render_json(results: Sequence[TargetResult]) -> str:
    """The contract's JSON array."""
    return json.dumps([to_json(r) for r in results], indent=2)


def echo_results(batches: Iterable[Sequence[TargetResult]], output_format: str) -> int:
    """Print the results batch by batch as they come; the exit code of all of them.

    The text is what :func:`render_json` / :func:`render_table` give for all
    results at once, but no batch is kept once printed.
    """
    worst_rank = 0
    printed = 0
    for batch in batches:
        for result in batch:
            worst_rank = max(worst_rank, STATUS_RANK[result.status])
            if output_format == "json":
                # An item of an indent=2 array: its own lines, two more spaces in (the
                # encoder writes no empty line, so every line break is followed by one).
                item = "  " + json.dumps(to_json(result), indent=2).replace("\n", "\n  ")
                click.echo(("[\n" if not printed else ",\n") + item, nl=False)
            else:
                click.echo(render_table([result]))
            printed += 1
    if output_format == "json":
        click.echo("\n]" if printed else "[]")
    return {0: 0, 1: 1, 2: 3, 3: 2}[worst_rank]


def status_label(status: str) -> str:
    """A status as a fixed-width, coloured word."""
    return _label(status)


def _label(status: str) -> str:
    return click.style(f"{status.upper():<5}", fg=_COLOURS[status], bold=status != "pass")


def _all_findings(check: CheckResult) -> list[Finding]:
    findings = list(check.findings)
    if isinstance(check, DkimResult):
        for selector in check.selectors.values():
            findings.extend(selector.findings)
    return findings


def headline(check: CheckResult) -> str:
    """The most important thing to say about a check, in one line."""
    findings = sorted(_all_findings(check), key=lambda f: -_LEVEL_RANK[f.level])
    if findings and findings[0].level != "info":
        return f"{findings[0].code}: {findings[0].message}"
    if isinstance(check, BlocklistResult):
        count = len(check.listings)
        return f"not listed ({count} zone{'s' if count != 1 else ''} asked)"
    if isinstance(check, SpfResult) and check.record:
        return f"{check.record}  ({check.dns_lookups} lookups)"
    if isinstance(check, DkimResult) and check.selectors:
        return ", ".join(
            f"{name} {s.key_type or '?'}{'/' + str(s.key_bits) if s.key_bits else ''}"
            for name, s in check.selectors.items()
        )
    record = getattr(check, "record", None)
    if record:
        return str(record)
    hosts = getattr(check, "hosts", None) or getattr(check, "hostnames", None)
    if hosts:
        return ", ".join(hosts)
    return findings[0].message if findings else ""


def render_table(results: Sequence[TargetResult]) -> str:
    """One block per target: its status, then one line per check."""
    lines: list[str] = []
    for result in results:
        lines.append(
            f"{_label(result.status)} {click.style(result.target, bold=True)} ({result.kind})"
        )
        for name, check in result.checks.items():
            lines.append(f"  {_label(check.status)} {name:<10} {headline(check)}")
    return "\n".join(lines)


def exit_code(results: Sequence[TargetResult]) -> int:
    """Monitoring-plugin exit code of the worst status (0 pass … 2 fail, 3 error)."""
    worst_rank = max((STATUS_RANK[r.status] for r in results), default=0)
    return {0: 0, 1: 1, 2: 3, 3: 2}[worst_rank]


def render_catalogue_json() -> str:
    """Every finding code as JSON: ``[{code, level, title, fix}]``."""
    return json.dumps(
        [
            {"code": code, "level": spec.level, "title": spec.title, "fix": spec.fix}
            for code, spec in CATALOGUE.items()
        ],
        indent=2,
    )


def render_catalogue_table() -> str:
    """Every finding code for people: code, level and title, then the fix."""
    lines = []
    for code, spec in CATALOGUE.items():
        lines.append(f"{code:<38} {spec.level:<5} {spec.title}")
        lines.append(f"{'':<38} fix: {spec.fix}")
    return "\n".join(lines)


class Episode(Protocol):
    """What the listing renderers read of a stored listing episode."""

    target: str
    zone: str
    listed_at: datetime
    last_seen_at: datetime
    delisted_at: datetime | None
    codes: list[str]
    reason: str | None


def listing_json(episode: Episode, now: datetime) -> dict[str, Any]:
    """One listing episode as JSON; an open one lasts until ``now`` so far."""
    start = as_utc(episode.listed_at)
    end = as_utc(episode.delisted_at) if episode.delisted_at else None
    return {
        "target": episode.target,
        "zone": episode.zone,
        "listed_at": start.isoformat(),
        "last_seen_at": as_utc(episode.last_seen_at).isoformat(),
        "delisted_at": end.isoformat() if end else None,
        "duration_seconds": int(((end or now) - start).total_seconds()),
        "codes": list(episode.codes),
        "reason": episode.reason,
    }


def render_listings_json(episodes: Sequence[Episode], now: datetime) -> str:
    """Listing episodes as a JSON array."""
    return json.dumps([listing_json(e, now) for e in episodes], indent=2)


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    return f"{days}d {hours}h" if days else f"{hours}h {minutes:02d}m"


def render_listings_table(episodes: Sequence[Episode], now: datetime) -> str:
    """One line per listing episode: target, zone, since, until, how long."""
    if not episodes:
        return "No listings recorded."
    lines = []
    for episode in episodes:
        item = listing_json(episode, now)
        until = item["delisted_at"] or "still listed"
        lines.append(
            f"{item['target']:<24} {item['zone']:<28} {item['listed_at']:<25} {until:<25} "
            f"{_duration(item['duration_seconds']):>8}  {' '.join(item['codes'])}"
        )
    return "\n".join(lines)


def percent(value: float | None) -> str:
    """A fraction as people read a rate (compliance.rates.wording.format_rate)."""
    from compliance.rates.wording import format_rate

    return format_rate(value)


def _origin(metric: MetricResult) -> str:
    """Where a figure comes from and the latest day it rests on."""
    from compliance.rates.receivers import SOURCE_NAMES

    source = SOURCE_NAMES.get(metric.source, metric.source)
    return f"{source}, as of {metric.as_of or '—'}"


def render_rates_table(report: RatesResult) -> str:
    """Rates for people: the totals, then each profile's metrics against its lines."""
    totals = report.totals
    lines = [
        f"{report.first} .. {report.as_of} ({report.days} days): {totals.sent} sent, "
        f"{totals.delivered} delivered, bounce rate {percent(totals.bounce_rate)} "
        f"(hard {percent(totals.hard_bounce_rate)}), complaint rate "
        f"{percent(totals.complaint_rate)}",
    ]
    from compliance.rates.wording import (
        latest_sentence,
        metric_name,
        not_judged,
        rate_sentence,
    )

    for name, profile in report.profiles.items():
        scope = "" if profile.scope == "all" else f" [{profile.scope} only]"
        below = not_judged(profile)
        # Below its volume a profile is not judged: it reads so, never as ERROR or FAIL.
        label = click.style("-    ", dim=True) if below else status_label(profile.status)
        if not profile.metrics:
            lines.append(
                f"  {label} {name:<10}{scope} not published; judged by {profile.judged_by or '—'}"
            )
        elif below:
            names = ", ".join(metric_name(metric) for metric in profile.metrics)
            lines.append(f"  {label} {name:<10}{scope} {below} ({names})")
        else:
            lines.append(f"  {label} {name:<10}{scope}")
            for metric, m in profile.metrics.items():
                latest = latest_sentence(m.latest, m)
                beside = f"; {latest}" if latest else ""
                lines.append(f"        {rate_sentence(profile, metric, m)}{beside} ({_origin(m)})")
        for item in profile.findings:
            if item.code == "RATES_LOW_VOLUME":
                continue
            if item.level in ("error", "fail", "warn") or item.code == "RATE_TREND_TO_FAIL":
                lines.append(f"        {item.code}: {item.message}")
    return "\n".join(lines)


def render_audit_table(report: AuditResult) -> str:
    """The list audit for people: each rule's count, change and examples; hygiene."""
    previous = report.previous
    since = f" (change since the audit as of {previous.as_of})" if previous else ""
    lines = [
        f"Audit as of {report.as_of}: {report.contacts} contacts, "
        f"{report.subscribed} subscribed{since}"
    ]
    for name, rule in report.rules.items():
        change = ""
        if previous and name in previous.counts:
            delta = rule.count - previous.counts[name]
            change = f" ({delta:+d})"
        days = f" > {rule.threshold_days} days" if rule.threshold_days is not None else ""
        examples = f"  e.g. {', '.join(rule.examples[:3])}" if rule.examples else ""
        label = status_label(rule.status)
        lines.append(f"  {label} {name:<26} {rule.count:>8}{change}{days}{examples}")
    for finding in report.hygiene:
        lines.append(f"  hygiene {finding.code}: {finding.message}")
    return "\n".join(lines)


def render_messages_table(results: Sequence[AuditedMessage]) -> str:
    """Audited messages for people: each check and its findings."""
    lines = []
    for audited in results:
        result = audited.result
        subject = f"  {result.subject}" if result.subject else ""
        lines.append(f"{status_label(result.status)} {audited.file}{subject}")
        for name, check in result.checks.items():
            lines.append(f"    {status_label(check.status)} {name}")
            for item in check.findings:
                lines.append(f"          {item.code}: {item.message}")
        for item in result.findings:
            lines.append(f"    note  {item.code}: {item.message}")
    return "\n".join(lines)
