"""Which mailbox provider a recipient's domain belongs to: gmail, yahoo, microsoft or other.

Exact domains first, then the providers' country domains (yahoo.co.uk,
hotmail.de, live.com.mx, …): a registrable domain whose name is the
provider's label. Domains hosted by a provider under their own name (Google
Workspace, Microsoft 365) cannot be told from the address and count as
other.
"""

from __future__ import annotations

import functools

from publicsuffixlist import PublicSuffixList

PROVIDERS = ("gmail", "yahoo", "microsoft", "other")

DOMAINS: dict[str, str] = {
    "gmail.com": "gmail",
    "googlemail.com": "gmail",
    "ymail.com": "yahoo",
    "rocketmail.com": "yahoo",
    "aol.com": "yahoo",
    "aim.com": "yahoo",
    "verizon.net": "yahoo",
    "outlook.com": "microsoft",
    "hotmail.com": "microsoft",
    "live.com": "microsoft",
    "msn.com": "microsoft",
    "windowslive.com": "microsoft",
    "passport.com": "microsoft",
}
# The label a provider's country domains share: yahoo.co.uk, hotmail.fr, live.de, aol.de.
LABELS: dict[str, str] = {
    "yahoo": "yahoo",
    "aol": "yahoo",
    "hotmail": "microsoft",
    "outlook": "microsoft",
    "live": "microsoft",
}


@functools.cache
def _suffixes() -> PublicSuffixList:
    """The public suffix list, parsed at its first use: parsing it takes longer than every other
    import of the settings together, and most commands never ask."""
    return PublicSuffixList()


@functools.lru_cache(maxsize=65536)
def provider_of(domain: str) -> str:
    """The provider of a recipient domain."""
    name = domain.lower().rstrip(".")
    if name in DOMAINS:
        return DOMAINS[name]
    label, _, rest = name.partition(".")
    if label in LABELS and rest and _suffixes().publicsuffix(name) == rest:
        return LABELS[label]
    return "other"


def provider_of_address(address: str) -> str:
    """The provider of a recipient address."""
    return provider_of(address.rpartition("@")[2])
