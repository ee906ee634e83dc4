"""List hygiene beside the rules: addresses that turn into hard bounces and spam traps.

Counted in SQL over subscribed contacts: addresses email-validator refuses
(judged at import), role accounts, domains that are common misspellings of
a mailbox provider's; and, when asked, domains with neither MX nor A
record, resolved once per domain through the shared resolver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checks.findings import Finding, finding
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


@dataclass(frozen=True)
class HygieneFinding:
    """A catalogued finding with how many subscribed addresses it concerns and a few of them.

    ``typo_domains`` (misspelt domain -> the one meant) comes with ``DOMAIN_TYPO``;
    ``domain_count`` (how many domains) with the dead-domain findings. Both are
    the JSON's ``domains``.
    """

    finding: Finding
    count: int
    examples: tuple[str, ...]
    typo_domains: Mapping[str, str] | None = None
    domain_count: int | None = None

    @property
    def code(self) -> str:
        return self.finding.code

    @property
    def level(self) -> str:
        return self.finding.level

    @property
    def message(self) -> str:
        return self.finding.message

    @property
    def fix(self) -> str:
        return self.finding.fix

    def to_json(self) -> dict[str, Any]:
        """``{code, level, message, fix, count, examples[, domains]}``."""
        out: dict[str, Any] = {
            **asdict(self.finding),
            "count": self.count,
            "examples": list(self.examples),
        }
        if self.typo_domains is not None:
            out["domains"] = dict(self.typo_domains)
        if self.domain_count is not None:
            out["domains"] = self.domain_count
        return out


def hygiene_findings(session: Session) -> list[HygieneFinding]:
    """Findings with counts for invalid addresses, role accounts and typo domains."""
    subscribed = Contact.status == "subscribed"
    findings: list[HygieneFinding] = []
    for code, condition, message in (
        (
            "ADDRESS_INVALID",
            Contact.address_problem.is_not(None),
            "subscribed addresses are not valid e-mail addresses; they can only bounce",
        ),
        (
            "ROLE_ACCOUNT",
            Contact.role_account.is_(True),
            "subscribed addresses are role accounts (info@, postmaster@, …): nobody in "
            "particular consented, and they are common spam-trap seeds",
        ),
    ):
        count = session.scalar(select(func.count()).where(subscribed, condition)) or 0
        if count:
            examples = session.scalars(
                select(Contact.address)
                .where(subscribed, condition)
                .order_by(Contact.id)
                .limit(EXAMPLES)
            )
            findings.append(
                HygieneFinding(finding(code, f"{count} {message}."), count, tuple(examples))
            )
    typos = session.execute(
        select(Contact.domain, func.count())
        .where(subscribed, Contact.domain.in_(list(TYPO_DOMAINS)))
        .group_by(Contact.domain)
        .order_by(func.count().desc(), Contact.domain)
    ).all()
    if typos:
        total = sum(count for _, count in typos)
        meant = ", ".join(
            f"{domain} ({count}, meant {TYPO_DOMAINS[domain]})" for domain, count in typos
        )
        findings.append(
            HygieneFinding(
                finding(
                    "DOMAIN_TYPO", f"{total} subscribed addresses are at misspelt domains: {meant}."
                ),
                total,
                tuple(domain for domain, _ in typos[:EXAMPLES]),
                typo_domains={domain: TYPO_DOMAINS[domain] for domain, _ in typos},
            )
        )
    return findings


def dead_domain_findings(
    session: Session, resolve: Callable[[Iterable[str]], dict[str, str]]
) -> list[HygieneFinding]:
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
    findings: list[HygieneFinding] = []
    for verdict, code, text in (
        ("none", "DOMAIN_NO_MAIL", "are at domains with neither MX nor A record"),
        ("error", "DOMAIN_UNRESOLVED", "are at domains whose DNS could not be read (not judged)"),
    ):
        domains = sorted(
            (d for d, v in verdicts.items() if v == verdict), key=lambda d: (-counts[d], d)
        )
        if domains:
            total = sum(counts[d] for d in domains)
            more = " …" if len(domains) > 10 else ""
            message = f"{total} subscribed addresses {text}: {', '.join(domains[:10])}{more}."
            findings.append(
                HygieneFinding(
                    finding(code, message),
                    total,
                    tuple(domains[:EXAMPLES]),
                    domain_count=len(domains),
                )
            )
    return findings
