"""The answer cache of one sweep: positive and negative answers, TTL-respecting.

Keys are plain ``(name, type)`` tuples (lower-case name without the root
dot, numeric type), so a hit costs a dict lookup: most lookups of a sweep
are repeats (a thousand domains including one ESP record), and dnspython's
own ``LRUCache`` hashes ``Name`` objects under one lock that all probe
threads queue on.

A negative answer (NXDOMAIN, or NODATA) is kept for its negative TTL, the
smaller of the SOA record's TTL and its MINIMUM field (RFC 2308 section 5);
a negative answer without an SOA is not cached. Entries are written and read
without a lock: a dict item assignment is atomic, and two threads that miss
at once both store an equal answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dns.message
import dns.rdatatype
import dns.resolver

CacheKey = tuple[str, int]


def cache_key(name: str, rdtype: int) -> CacheKey:
    """The key of ``name``/``rdtype``: case and the root dot do not matter."""
    return (name.lower().rstrip("."), rdtype)


@dataclass(frozen=True)
class _Negative:
    error: type[dns.resolver.NXDOMAIN] | type[dns.resolver.NoAnswer]
    kwargs: dict[str, Any]
    expires: float

    def raise_again(self) -> None:
        # A fresh exception per hit: one instance raised in several threads
        # would share (and grow) one traceback.
        raise self.error(**self.kwargs)


def negative_ttl(response: dns.message.Message | None) -> int | None:
    """RFC 2308 negative TTL of ``response``; None when it carries no SOA."""
    if response is None:
        return None
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA and len(rrset):
            return int(min(rrset.ttl, rrset[0].minimum))  # type: ignore[attr-defined]
    return None


class SweepCache:
    """Answers seen in one sweep, until their TTL runs out."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._answers: dict[CacheKey, dns.resolver.Answer] = {}
        self._negatives: dict[CacheKey, _Negative] = {}

    def get(self, key: CacheKey) -> dns.resolver.Answer | None:
        """The cached answer; raises NXDOMAIN/NoAnswer for a cached negative one."""
        now = self._clock()
        answer = self._answers.get(key)
        if answer is not None and answer.expiration > now:
            return answer
        negative = self._negatives.get(key)
        if negative is not None and negative.expires > now:
            negative.raise_again()
        return None

    def put(self, key: CacheKey, answer: dns.resolver.Answer) -> None:
        """Keep a positive answer until it expires."""
        if answer.rrset is not None:
            self._answers[key] = answer

    def put_negative(
        self, key: CacheKey, error: dns.resolver.NXDOMAIN | dns.resolver.NoAnswer
    ) -> None:
        """Keep an NXDOMAIN or NODATA answer for its negative TTL."""
        if isinstance(error, dns.resolver.NXDOMAIN):
            responses = error.kwargs.get("responses") or {}
            response = next(reversed(responses.values()), None) if responses else None
        else:
            response = error.kwargs.get("response")
        ttl = negative_ttl(response)
        if ttl is None:
            return
        self._negatives[key] = _Negative(type(error), dict(error.kwargs), self._clock() + ttl)

    def __len__(self) -> int:
        return len(self._answers) + len(self._negatives)
