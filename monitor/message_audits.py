"""Auditing sent message files and keeping the results: what ``audit-message`` and the demo run."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from checks.findings import finding, worst
from monitor.settings import Settings


def audit_files(
    settings: Settings, paths: list[Path], probe: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The audit of every message in ``paths`` (.eml, .mbox, directories), DKIM keys fetched
    through the configured resolver; with ``probe`` options, one-click URIs are POSTed to.

    Raises :class:`compliance.message_files.MessageFileError` for a path that cannot be read.
    """
    from checks.dns import DnsError, DnsSweep
    from compliance.message_audit import KeyUnavailable, audit_message
    from compliance.message_files import read_messages
    from compliance.one_click_probe import probe_one_click

    resolver = DnsSweep(settings.dns).resolver()

    def key(name: str) -> str:
        try:
            return "".join(resolver.lookup_txt(name))
        except DnsError as error:
            raise KeyUnavailable(str(error)) from None

    def addresses(host: str) -> list[str]:
        return [str(r) for kind in ("A", "AAAA") for r in resolver.lookup(host, kind)]

    results = []
    for message in read_messages(paths, settings.messages.max_bytes):
        if message.raw is None:
            problem = finding("MESSAGE_TOO_LARGE", f"{message.where}: {message.problem}.")
            result: dict[str, Any] = {
                "status": "error", "checks": {}, "findings": [asdict(problem)],
            }  # fmt: skip
        else:
            result = audit_message(message.raw, key)
            one_click = result["checks"].get("one_click")
            if probe is not None and one_click and one_click.get("uri"):
                status, found, code = probe_one_click(one_click["uri"], addresses, **probe)
                one_click["probe"] = {"status": status, "http_status": code}
                one_click["findings"] += [asdict(f) for f in found]
                one_click["status"] = worst((one_click["status"], status))
                result["status"] = worst(c["status"] for c in result["checks"].values())
        results.append({"file": message.where, **result})
    return results


def message_details(result: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every finding of an audited message by check ("message" for the message-wide ones),
    each as {code, level, message, fix}: what the Messages page shows."""
    keys = ("code", "level", "message", "fix")
    details = {
        name: [{key: item.get(key) for key in keys} for item in check.get("findings", ())]
        for name, check in result["checks"].items()
    }
    details["message"] = [{key: item.get(key) for key in keys} for item in result["findings"]]
    return details


def save_audits(session: Session, results: list[dict[str, Any]], now: datetime) -> None:
    """Keep one row per audited message (for reports and the dashboard); the caller commits."""
    from store.messages import MessageAudit

    for result in results:
        session.add(
            MessageAudit(
                audited_at=now,
                source=result["file"][:1000],
                message_id=(result.get("message_id") or None),
                sent_at=datetime.fromisoformat(result["date"]) if result.get("date") else None,
                sender=result.get("from"),
                campaign=result.get("campaign"),
                subject=(result.get("subject") or "")[:998] or None,
                status=result["status"],
                checks={name: check["status"] for name, check in result["checks"].items()},
                findings=[item["code"] for item in result["findings"]],
                details=message_details(result),
            )
        )
    session.flush()
