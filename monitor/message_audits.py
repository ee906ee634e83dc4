"""Auditing sent message files and keeping the results: what ``audit-message`` and the demo run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from checks.findings import finding
from compliance.messages.results import MessageAuditResult, OneClickCheck, OneClickProbe
from monitor.settings import Settings


@dataclass(frozen=True)
class AuditedMessage:
    """A message's audit and where the message was read from (a file, or a file's mbox entry)."""

    file: str
    result: MessageAuditResult

    @property
    def status(self) -> str:
        return self.result.status

    def to_json(self) -> dict[str, Any]:
        """One element of ``audit-message --format json``: ``{"file", "status", "checks", …}``."""
        return {"file": self.file, **self.result.to_json()}


def audit_files(
    settings: Settings, paths: list[Path], probe: dict[str, Any] | None = None
) -> list[AuditedMessage]:
    """The audit of every message in ``paths`` (.eml, .mbox, directories), DKIM keys fetched
    through the configured resolver; with ``probe`` options, one-click URIs are POSTed to.

    Raises :class:`compliance.messages.files.MessageFileError` for a path that cannot be read.
    """
    from checks.dns import DnsError, DnsSweep
    from compliance.messages.audit import KeyUnavailable, audit_message
    from compliance.messages.files import read_messages
    from compliance.messages.one_click_probe import probe_one_click

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
            result = MessageAuditResult.unread(problem)
        else:
            result = audit_message(message.raw, key)
            one_click = result.checks.get("one_click")
            if probe is not None and isinstance(one_click, OneClickCheck) and one_click.uri:
                status, found, code = probe_one_click(one_click.uri, addresses, **probe)
                probed = replace(
                    one_click,
                    findings=(*one_click.findings, *found),
                    probe=OneClickProbe(status, code),
                )
                result = replace(result, checks={**result.checks, "one_click": probed})
        results.append(AuditedMessage(message.where, result))
    return results


def message_details(result: MessageAuditResult) -> dict[str, list[dict[str, str]]]:
    """Every finding of an audited message by check ("message" for the message-wide ones),
    each as {code, level, message, fix}: what the Messages page shows."""
    details = {name: [asdict(f) for f in check.findings] for name, check in result.checks.items()}
    details["message"] = [asdict(f) for f in result.findings]
    return details


def save_audits(session: Session, results: list[AuditedMessage], now: datetime) -> None:
    """Keep one row per audited message (for reports and the dashboard); the caller commits."""
    from store.messages import MessageAudit

    for audited in results:
        result = audited.result
        session.add(
            MessageAudit(
                audited_at=now,
                source=audited.file[:1000],
                message_id=result.message_id,
                sent_at=datetime.fromisoformat(result.date) if result.date else None,
                sender=result.sender,
                campaign=result.campaign,
                subject=(result.subject or "")[:998] or None,
                status=result.status,
                checks={name: check.status for name, check in result.checks.items()},
                findings=[item.code for item in result.findings],
                details=message_details(result),
            )
        )
    session.flush()
