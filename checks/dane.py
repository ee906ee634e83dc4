"""DANE for SMTP (RFC 7672): ``_25._tcp.MX`` TLSA records against the certificate the MX presents.

TLSA records count only when DNSSEC secures them; the ``dane`` check says
so (:mod:`checks.dnssec` validates them), and the ``starttls`` check takes
a matching TLSA record in place of a certificate for the MX name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from checks.certificates import tlsa_association
from checks.dns import ProbeResolver

DANE_USAGES = (2, 3)  # DANE-TA, DANE-EE; PKIX-TA/EE (0, 1) are not used by SMTP


@dataclass(frozen=True)
class Tlsa:
    """One TLSA record."""

    usage: int
    selector: int
    matching_type: int
    data: bytes

    def __str__(self) -> str:
        return f"{self.usage} {self.selector} {self.matching_type} {self.data.hex()}"

    @property
    def valid(self) -> bool:
        return (
            self.usage in (0, 1, 2, 3)
            and self.selector in (0, 1)
            and self.matching_type in (0, 1, 2)
        )


def query_tlsa(host: str, resolver: ProbeResolver, port: int = 25) -> list[Tlsa]:
    """The TLSA records of ``_PORT._tcp.host`` (DnsError when undeterminable)."""
    return [
        Tlsa(int(r.usage), int(r.selector), int(r.mtype), bytes(r.cert))  # type: ignore[attr-defined]
        for r in resolver.lookup(f"_{port}._tcp.{host}", "TLSA")
    ]


def record_matches(record: Tlsa, chain: Sequence[bytes]) -> bool:
    """Whether ``record`` matches the presented ``chain`` (DER, leaf first).

    DANE-EE (3) matches the leaf; DANE-TA (2) any certificate of the chain
    above it. PKIX usages are not matched: SMTP does not use them.
    """
    if not chain or not record.valid:
        return False
    if record.usage == 3:
        candidates: Sequence[bytes] = chain[:1]
    elif record.usage == 2:
        candidates = chain[1:]
    else:
        return False
    return any(
        tlsa_association(der, record.selector, record.matching_type) == record.data
        for der in candidates
    )


def chain_matches_tlsa(records: Sequence[Tlsa], chain: Sequence[bytes]) -> bool:
    """Whether any DANE record of ``records`` matches ``chain``."""
    return any(record_matches(record, chain) for record in records)
