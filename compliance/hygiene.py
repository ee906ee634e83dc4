"""List hygiene beside the rules: addresses that turn into hard bounces and spam traps.

Counted in SQL over subscribed contacts: addresses email-validator refuses
(judged at import), role accounts, domains that are common misspellings of
a mailbox provider's; and, when asked, domains with neither MX nor A
record, resolved once per domain through the shared resolver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checks.findings import finding
from store.contacts import Contact

# Misspelt domain -> the one meant. Common typos of the largest mailbox
# providers, as list-hygiene services flag them.
TYPO_DOMAINS = {
    "gmial.com": "gmail.com", "gmal.com": "gmail.com", "gmai.com": "gmail.com",
    "gamil.com": "gmail.com", "gnail.com": "gmail.com", "gmail.co": "gmail.com",
    "gmail.con": "gmail.com", "gmail.cm": "gmail.com", "gmaill.com": "gmail.com",
    "googlemail.co": "googlemail.com",
    "hotmial.com": "hotmail.com", "hotmal.com": "hotmail.com", "hotmai.com": "hotmail.com",
    "hotmail.con": "hotmail.com", "hotmail.co": "hotmail.com", "homail.com": "hotmail.com",
    "yahooo.com": "yahoo.com", "yaho.com": "yahoo.com", "yahoo.con": "yahoo.com",
    "yahoo.co": "yahoo.com", "yhoo.com": "yahoo.com",
    "outlok.com": "outlook.com", "outloo.com": "outlook.com", "outlook.con": "outlook.com",
    "iclod.com": "icloud.com", "icloud.con": "icloud.com", "icoud.com": "icloud.com",
    "aol.con": "aol.com", "aoll.com": "aol.com",
}  # fmt: skip

EXAMPLES = 5


def _finding(
    code: str, message: str, count: int, examples: list[str], **more: Any
) -> dict[str, Any]:
    """A catalogued finding (level and fix from checks.findings) with its count and examples."""
    return {**asdict(finding(code, message)), "count": count, "examples": examples, **more}


def hygiene_findings(session: Session) -> list[dict[str, Any]]:
    """Findings with counts for invalid addresses, role accounts and typo domains."""
    subscribed = Contact.status == "subscribed"
    findings = []
    for code, condition, message in (
        ("ADDRESS_INVALID", Contact.address_problem.is_not(None),
         "subscribed addresses are not valid e-mail addresses; they can only bounce"),
        ("ROLE_ACCOUNT", Contact.role_account.is_(True),
         "subscribed addresses are role accounts (info@, postmaster@, …): nobody in "
         "particular consented, and they are common spam-trap seeds"),
    ):  # fmt: skip
        count = session.scalar(select(func.count()).where(subscribed, condition)) or 0
        if count:
            examples = list(
                session.scalars(
                    select(Contact.address).where(subscribed, condition)
                    .order_by(Contact.id).limit(EXAMPLES)
                )
            )  # fmt: skip
            findings.append(_finding(code, f"{count} {message}.", count, examples))
    typos = session.execute(
        select(Contact.domain, func.count())
        .where(subscribed, Contact.domain.in_(list(TYPO_DOMAINS)))
        .group_by(Contact.domain)
        .order_by(func.count().desc(), Contact.domain)
    ).all()
    if typos:
        total = sum(count for _, count in typos)
        meant = ", ".join(f"{domain} ({count}, meant {TYPO_DOMAINS[domain]})"
                          for domain, count in typos)  # fmt: skip
        findings.append(
            _finding(
                "DOMAIN_TYPO",
                f"{total} subscribed addresses are at misspelt domains: {meant}.",
                total,
                [domain for domain, _ in typos[:EXAMPLES]],
                domains={domain: TYPO_DOMAINS[domain] for domain, _ in typos},
            )
        )
    return findings


def dead_domain_findings(
    session: Session, resolve: Callable[[Iterable[str]], dict[str, str]]
) -> list[dict[str, Any]]:
    """Findings for domains with neither MX nor A record.

    ``resolve`` maps each domain to ``mail`` (MX or A found), ``none``
    (neither: NXDOMAIN or no such records) or ``error`` (could not tell).
    Domains that could not be resolved are reported apart, never as dead.
    """
    subscribed = Contact.status == "subscribed"
    counts = dict(
        session.execute(
            select(Contact.domain, func.count()).where(subscribed).group_by(Contact.domain)
        ).all()
    )
    verdicts = resolve(sorted(counts))
    findings = []
    for verdict, code, text in (
        ("none", "DOMAIN_NO_MAIL", "are at domains with neither MX nor A record"),
        ("error", "DOMAIN_UNRESOLVED", "are at domains whose DNS could not be read (not judged)"),
    ):
        domains = sorted((d for d, v in verdicts.items() if v == verdict),
                         key=lambda d: (-counts[d], d))  # fmt: skip
        if domains:
            total = sum(counts[d] for d in domains)
            item = _finding(
                code,
                f"{total} subscribed addresses {text}: {', '.join(domains[:10])}"
                + (" …" if len(domains) > 10 else "") + ".",
                total,
                domains[:EXAMPLES],
                domains=len(domains),
            )  # fmt: skip
            findings.append(item)
    return findings
