"""The results of a sent message's audit, and their one JSON serialisation.

Each check is a frozen dataclass whose ``status`` is derived from its
findings by :func:`checks.findings.status_of`, the rule every probe follows;
``to_json`` gives the ``audit-message --format json`` shape of DESIGN.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from checks.findings import Finding, Status, status_of, worst


@dataclass(frozen=True)
class MessageCheck:
    """Common part of every message check: its findings and the status they imply."""

    findings: tuple[Finding, ...] = ()

    @property
    def status(self) -> Status:
        return status_of(self.findings)

    def to_json(self) -> dict[str, Any]:
        """``{status, findings, …}``: the status, the findings, then the check's own fields."""
        return {"status": self.status, "findings": [asdict(f) for f in self.findings]}


@dataclass(frozen=True)
class ListUnsubscribeCheck(MessageCheck):
    uris: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "uris": list(self.uris)}


@dataclass(frozen=True)
class OneClickProbe:
    """What POSTing to the one-click URI gave (``http_status`` None when nothing answered)."""

    status: Status
    http_status: int | None


@dataclass(frozen=True)
class OneClickCheck(MessageCheck):
    uri: str | None = None
    probe: OneClickProbe | None = None

    def to_json(self) -> dict[str, Any]:
        out = {**super().to_json(), "uri": self.uri}
        if self.probe is not None:
            out["probe"] = asdict(self.probe)
        return out


@dataclass(frozen=True)
class DkimSignature:
    """One DKIM-Signature: who signed, which headers, whether it verifies.

    ``verified`` is None when the key could not be fetched (not determined);
    the alignment with the From domain is filled in by :func:`check_dkim`.
    """

    domain: str
    selector: str
    headers: tuple[str, ...]
    verified: bool | None
    reason: str
    aligned_strict: bool = False
    aligned_relaxed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "selector": self.selector,
            "headers": list(self.headers),
            "verified": self.verified,
            "reason": self.reason,
            "aligned_strict": self.aligned_strict,
            "aligned_relaxed": self.aligned_relaxed,
        }


@dataclass(frozen=True)
class DkimCheck(MessageCheck):
    signatures: tuple[DkimSignature, ...] = ()
    aligned_strict: bool = False
    aligned_relaxed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "signatures": [signature.to_json() for signature in self.signatures],
            "aligned_strict": self.aligned_strict,
            "aligned_relaxed": self.aligned_relaxed,
        }


@dataclass(frozen=True)
class BodyUnsubscribeCheck(MessageCheck):
    links: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "links": list(self.links)}


@dataclass(frozen=True)
class MessageAuditResult:
    """The audit of one message.

    A message that could not be read (or was refused for its size) has no
    checks, only the findings that say why, and its status is theirs
    (``error``); otherwise the status is the worst check's, and the findings
    are notes (postal address, Feedback-ID, …) that do not change it.
    """

    checks: Mapping[str, MessageCheck]
    findings: tuple[Finding, ...] = ()
    message_id: str | None = None
    subject: str | None = None
    sender: str | None = None
    date: str | None = None
    campaign: str | None = None

    @classmethod
    def unread(cls, problem: Finding) -> MessageAuditResult:
        """The result of a message that was not read: no checks, the finding saying why."""
        return cls({}, (problem,))

    @property
    def status(self) -> Status:
        if not self.checks:
            return status_of(self.findings)
        return worst(check.status for check in self.checks.values())

    def to_json(self) -> dict[str, Any]:
        """The contract's ``audit-message`` object (without ``file``, which the caller knows)."""
        out: dict[str, Any] = {
            "status": self.status,
            "checks": {name: check.to_json() for name, check in self.checks.items()},
            "findings": [asdict(f) for f in self.findings],
        }
        if self.checks:
            out |= {
                "message_id": self.message_id,
                "subject": self.subject,
                "from": self.sender,
                "date": self.date,
                "campaign": self.campaign,
            }
        return out
