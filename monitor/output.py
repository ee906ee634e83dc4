"""How results are shown: JSON for machines, a compact table for people."""

from __future__ import annotations

import json
from collections.abc import Sequence

import click

from checks.findings import CATALOGUE, STATUS_RANK, Finding
from checks.results import CheckResult, DkimResult, SpfResult, TargetResult, to_json

_COLOURS = {"pass": "green", "warn": "yellow", "error": "magenta", "fail": "red"}
_LEVEL_RANK = {"info": 0, "warn": 1, "error": 2, "fail": 3}


def render_json(results: Sequence[TargetResult]) -> str:
    """The contract's JSON array."""
    return json.dumps([to_json(r) for r in results], indent=2)


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
            lines.append(f"  {_label(check.status)} {name:<6} {headline(check)}")
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
