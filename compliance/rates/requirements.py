"""Mailbox providers' bulk-sender requirements beyond rates, each judged from evidence.

A mailbox-provider limit profile names its provider's requirements
(:data:`compliance.rates.limit_profiles.REQUIREMENTS`); :func:`provider_card` turns them
into one card: each requirement with a status and a note on what it was
judged on, plus the provider's complaint rate on mail to its own recipients.
The evidence, one :class:`Verdict` per requirement name, comes from the latest
DNS checks of the monitored targets, recent message audits
(:func:`message_verdicts`) and the latest stored list audit
(:func:`unsubscribe_verdict`). A requirement without evidence is ``error``
(could not determine), never ``pass``. Where that is nobody's fault yet (targets not
checked yet, data Postwarden cannot see, too little mail to judge a rate) the verdict
also carries the word its chip shows instead of ERROR ("pending", "no data",
"not judged"), and the card's own status leaves it out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checks.findings import STATUS_RANK, worst
from compliance.rates.limit_profiles import REQUIREMENTS, LimitProfile
from compliance.rates.results import ProfileResult
from compliance.rates.wording import format_rate, not_judged
from store.contacts import AuditRun
from store.messages import MessageAudit

# How many of the latest audited messages (within the window) speak for current mail.
RECENT_MESSAGES = 50
# The requirement is 2 days: an audit run with a longer grace cannot confirm it.
UNSUBSCRIBE_DAYS = 2


@dataclass(frozen=True)
class Verdict:
    """A requirement's status and what it rests on (or why it could not be judged)."""

    status: str
    note: str
    # The chip's word when nothing could be judged through no fault of the sender's
    # ("pending", "no data", "not judged"); the status stays ``error`` (the contract).
    shown: str | None = None


UNMEASURED = Verdict("error", "not measured: Postwarden cannot see this", "no data")
MEASURED_BY: dict[str, Verdict] = {
    "tls": Verdict(
        "error",
        "no data: Postwarden does not see your SMTP sessions "
        "(connect Gmail Postmaster Tools for Gmail's TLS figure)",
        "no data",
    ),
}


@dataclass(frozen=True)
class ProviderEvidence:
    """A provider's own verdicts: ``own`` replaces Postwarden's, ``says`` sits beside it."""

    name: str
    own: Mapping[str, Verdict] = field(default_factory=dict)
    says: Mapping[str, Verdict] = field(default_factory=dict)


@dataclass(frozen=True)
class RequirementItem:
    """One line of a provider card, with what the provider itself says where it says it."""

    name: str
    label: str
    status: str
    note: str
    provider_status: str | None = None
    provider_note: str | None = None
    # Postwarden's evidence passes where the provider says it needs work, or the reverse.
    disagrees: bool = False
    # Not judged through no fault of the sender's: the chip's word instead of ERROR.
    shown: str | None = None

    @property
    def chip(self) -> str:
        """The word on the item's status chip: PASS, WARN, FAIL, ERROR or e.g. "no data"."""
        return self.shown or self.status.upper()


@dataclass(frozen=True)
class ProviderCard:
    """A mailbox provider's requirements as judged now, with the profile's sources."""

    name: str
    title: str
    items: tuple[RequirementItem, ...]
    sources: tuple[str, ...]

    @property
    def status(self) -> str:
        """The worst judged item; items not judged through no fault of the sender's
        ("pending", "no data") do not count against it, and with none judged it is error."""
        judged = [item.status for item in self.items if item.shown is None]
        return worst(judged) if judged else "error"

    @property
    def disagreements(self) -> int:
        return sum(item.disagrees for item in self.items)


def tally(counts: Mapping[str | None, int], what: str) -> Verdict:
    """The worst status among counted messages; a missing status (no such check) is error."""
    total = sum(counts.values())
    if not total:
        return Verdict("error", f"no {what}")
    statuses = [status if status in STATUS_RANK else "error" for status in counts]
    return Verdict(worst(statuses), f"{counts.get('pass', 0)} of {total} {what} pass")


def message_verdicts(
    session: Session, since: datetime, limit: int = RECENT_MESSAGES
) -> dict[str, Verdict]:
    """Requirements judged on the latest ``limit`` messages audited since ``since``.

    One grouped query: each message's stored check statuses are read from
    its JSON in SQL, so only the distinct combinations reach Python.
    """
    names = ("one_click", "body_unsubscribe", "dkim")
    recent = (
        select(*(MessageAudit.checks[name].as_string().label(name) for name in names))
        .where(MessageAudit.audited_at >= since)
        .order_by(MessageAudit.id.desc())
        .limit(limit)
        .subquery()
    )
    rows = session.execute(
        select(*(recent.c[name] for name in names), func.count()).group_by(
            *(recent.c[name] for name in names)
        )
    ).all()
    by_check: dict[str, Counter[str | None]] = {name: Counter() for name in names}
    for row in rows:
        for offset, name in enumerate(names):
            by_check[name][row[offset]] += int(row[-1])
    what = f"messages audited since {since:%Y-%m-%d}"
    return {
        "one_click_unsubscribe": tally(by_check["one_click"], what),
        "unsubscribe_link": tally(by_check["body_unsubscribe"], what),
        # A DKIM check passes only with a verified signature aligned with From
        # (DKIM_NOT_ALIGNED warns): what DMARC needs. SPF alignment is not visible in a file.
        "dmarc_alignment": tally(by_check["dkim"], what),
    }


def unsubscribe_verdict(run: AuditRun | None, grace_days: int) -> Verdict:
    """Unsubscribes honoured within 2 days, from a stored list audit's mailed_after_unsubscribe."""
    if run is None:
        return Verdict("error", "no list audit stored yet")
    rule = run.rules.get("mailed_after_unsubscribe")
    if rule is None:
        return Verdict("error", f"the audit of {run.as_of} did not judge unsubscribes")
    count = int(rule.get("count", 0))
    if count:
        return Verdict(
            "fail",
            f"{count} contact(s) mailed more than {grace_days} days after unsubscribing "
            f"(audit of {run.as_of})",
        )
    if grace_days > UNSUBSCRIBE_DAYS:
        return Verdict(
            "error",
            f"the audit allows {grace_days} days of grace; it cannot confirm "
            f"{UNSUBSCRIBE_DAYS} (audit of {run.as_of})",
        )
    return Verdict("pass", f"nobody mailed after unsubscribing (audit of {run.as_of})")


def rate_verdict(judged: ProfileResult | None) -> Verdict:
    """A provider profile's judgement on its own recipients' traffic (from ``rates``)."""
    if not judged:
        return Verdict("error", "no rates judged")
    if judged.status == "error":
        first = judged.findings[0].message if judged.findings else "could not be judged"
        below = not_judged(judged)
        return Verdict("error", below or first, "not judged" if below else None)
    gmail = judged.metrics.get("spam_rate")
    if gmail and gmail.value is not None:
        return Verdict(
            judged.status,
            f"Gmail's spam rate {format_rate(gmail.value)} on {gmail.as_of} (Postmaster Tools)",
        )
    complaint_rate = judged.metrics.get("complaint_rate")
    value = complaint_rate.value if complaint_rate else None
    rate = "no complaints" if not value else f"complaint rate {format_rate(value)}"
    return Verdict(judged.status, f"{rate} of {judged.delivered} delivered (ESP events)")


def provider_card(
    profile: LimitProfile,
    evidence: Mapping[str, Verdict],
    judged: ProfileResult | None,
    provider: ProviderEvidence | None = None,
) -> ProviderCard:
    """The card of one mailbox provider: its own requirements, then its rates (pure).

    With ``provider`` (the provider's own data), its verdicts replace or sit beside
    Postwarden's, and a requirement where they disagree is flagged.
    """
    own = dict(evidence) | dict(provider.own if provider else {})
    says = provider.says if provider else {}
    items = [
        _item(name, REQUIREMENTS[name], verdict, says.get(name))
        for name in profile.requirements
        for verdict in [own.get(name) or MEASURED_BY.get(name, UNMEASURED)]
    ]
    if profile.metrics:
        rates = rate_verdict(judged)
        items.append(_item("rates", "Complaint rate (its recipients)", rates, says.get("rates")))
    return ProviderCard(profile.name, profile.title, tuple(items), profile.sources)


def _item(name: str, label: str, verdict: Verdict, theirs: Verdict | None) -> RequirementItem:
    if theirs is None:
        return RequirementItem(name, label, verdict.status, verdict.note, shown=verdict.shown)
    # Flagged one way only: the provider sees a problem Postwarden's evidence passes.
    # The other way is no contradiction: Postwarden judges every monitored domain and
    # the provider only those verified with it, so a domain Postwarden fails may simply
    # be one the provider does not report on (and Postwarden's fail shows anyway).
    # "error" (Postwarden could not tell) is no answer to disagree with.
    disagrees = verdict.status == "pass" and theirs.status == "fail"
    return RequirementItem(name, label, verdict.status, verdict.note, theirs.status,
                           theirs.note, disagrees, verdict.shown)  # fmt: skip
