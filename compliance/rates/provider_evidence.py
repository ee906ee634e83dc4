"""What a mailbox provider itself says about the bulk-sender requirements (Gmail, for now).

Gmail's Postmaster Tools compliance status (per requirement: compliant or
needs work) is shown on the Gmail card beside Postwarden's own evidence, and
a requirement where the two disagree is flagged. Gmail's inbound TLS
encryption ratio answers the TLS requirement, which Postwarden cannot see
from its side.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from compliance.rates.requirements import ProviderEvidence, Verdict
from store.receivers import GmailDay, GmailDomain

# Gmail's compliance requirements by the names of Postwarden's requirements.
GMAIL_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "spf": ("spf", "spf_and_dkim"),
    "dkim": ("dkim", "spf_and_dkim"),
    "dmarc": ("dmarc_policy",),
    "dmarc_alignment": ("dmarc_alignment",),
    "ptr": ("dns_records",),
    "tls": ("encryption",),
    "one_click_unsubscribe": ("one_click_unsubscribe",),
    "unsubscribe_within_2_days": ("honor_unsubscribe",),
    "rates": ("user_reported_spam_rate",),
}
# Gmail requires every message over TLS; 1% of slack for how the ratio is rounded.
TLS_PASS = 0.99


def gmail_says(domains: Mapping[str, Mapping[str, Any]]) -> dict[str, Verdict]:
    """Gmail's compliance status, by Postwarden requirement, over every domain (pure).

    ``domains`` maps a domain to its stored compliance ({REQUIREMENT: {status, reason}});
    a requirement needs work when any domain's does.
    """
    out: dict[str, Verdict] = {}
    for name, theirs in GMAIL_REQUIREMENTS.items():
        needs: list[str] = []
        compliant: list[str] = []
        for domain, compliance in sorted(domains.items()):
            states = [compliance[r] for r in theirs if r in compliance]
            if not states:
                continue
            bad = [s for s in states if s.get("status") == "needs_work"]
            if bad:
                reason = next((s.get("reason") for s in bad if s.get("reason")), None)
                needs.append(f"{domain} ({reason})" if reason else domain)
            else:
                compliant.append(domain)
        if needs:
            out[name] = Verdict("fail", f"Gmail: needs work for {', '.join(needs)}")
        elif compliant:
            out[name] = Verdict("pass", f"Gmail: compliant ({', '.join(compliant)})")
    return out


def tls_verdict(ratio: float, day: date, domain: str) -> Verdict:
    """The TLS requirement from Gmail's inbound encryption ratio (pure)."""
    status = "pass" if ratio >= TLS_PASS else "fail"
    return Verdict(status, f"Gmail: {ratio:.1%} of mail from {domain} arrived over TLS on {day}")


def gmail_evidence(session: Session) -> ProviderEvidence | None:
    """Gmail's own verdicts from the stored Postmaster Tools data; None when there is none."""
    domains = {
        row.domain: row.compliance or {}
        for row in session.scalars(select(GmailDomain).where(GmailDomain.status == "pass"))
    }
    own: dict[str, Verdict] = {}
    last = session.scalar(select(func.max(GmailDay.day)))
    if last is not None:
        worst_tls: tuple[float, str] | None = None
        for row in session.scalars(select(GmailDay).where(GmailDay.day == last)):
            ratio = (row.metrics or {}).get("tls_inbound_rate")
            if isinstance(ratio, int | float) and (worst_tls is None or ratio < worst_tls[0]):
                worst_tls = (float(ratio), row.domain)
        if worst_tls is not None:
            own["tls"] = tls_verdict(worst_tls[0], last, worst_tls[1])
    if not domains and not own:
        return None
    return ProviderEvidence("gmail", own=own, says=gmail_says(domains))


def receiver_evidence(session: Session) -> dict[str, ProviderEvidence]:
    """Each provider's own verdicts, by profile name (only providers with stored data)."""
    gmail = gmail_evidence(session)
    return {"gmail": gmail} if gmail is not None else {}
