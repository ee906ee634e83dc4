"""Whether recipient domains can receive mail at all: MX, else A/AAAA (RFC 5321 §5.1).

Each domain is resolved once, concurrently, through one DNS sweep (its
cache shared by all). A null MX (RFC 7505, ``MX 0 .``) says the domain
takes no mail. A lookup that cannot be answered makes the domain
``error``, never ``none``.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from checks.dns import DnsError, DnsSweep, ProbeResolver
from checks.dns_settings import DnsSettings

MAIL = "mail"
NONE = "none"
ERROR = "error"


def _verdict(resolver: ProbeResolver, domain: str) -> str:
    try:
        exchanges = resolver.lookup(domain, "MX")
        if exchanges:
            null_mx = all(str(r.exchange) == "." for r in exchanges)  # type: ignore[attr-defined]
            return NONE if null_mx else MAIL
        if resolver.lookup(domain, "A") or resolver.lookup(domain, "AAAA"):
            return MAIL
    except DnsError:
        return ERROR
    return NONE


def mail_domain_verdicts(
    domains: Iterable[str], settings: DnsSettings, concurrency: int = 64
) -> dict[str, str]:
    """Each domain's verdict: ``mail``, ``none`` (neither MX nor address) or ``error``."""
    sweep = DnsSweep(settings)
    names = list(dict.fromkeys(domains))
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="domains") as pool:
        verdicts = pool.map(lambda name: _verdict(sweep.resolver(), name), names)
        return dict(zip(names, verdicts, strict=True))
