"""The answer cache of one sweep: positive and negative answers, TTL-respecting.

Keys are plain ``(name, type)`` tuples (lower-case name without the root
dot, numeric type), so a hit costs a dict lookup: most lookups of a sweep
are repeats (a thousand domains including one ESP record), and dnspython's
own ``LRUCache`` hashes ``Name`` objects under one lock that all probe
threads queue on.

What is kept is what probes read, not what dnspython returned: a
:class:`CachedAnswer` holds the records, their owner name, TTL and expiry;
a negative answer its question and expiry. dnspython's ``Answer``,
``NXDOMAIN`` and ``NoAnswer`` each carry the whole response message (every
section, parsed), and a sweep keeps its answers until it ends: kept whole,
they were most of a sweep's memory.

A negative answer (NXDOMAIN, or NODATA) is kept for its negative TTL, the
smaller of the SOA record's TTL and its MINIMUM field (RFC 2308 section 5);
a negative answer without an SOA is not cached. Entries are written and read
without a lock: a dict item assignment is atomic, and two threads that miss
at once both store an equal answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NoReturn

import checks._dnspython  # noqa: F401  (before dnspython: see there)

# isort: split

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset

CacheKey = tuple[str, int]


def cache_key(name: str, rdtype: int) -> CacheKey:
    """The key of ``name``/``rdtype``: case and the root dot do not matter."""
    return (name.lower().rstrip("."), rdtype)


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """The records of a positive answer, without the response they came in.

    Iterating, indexing and ``len()`` work as on ``dns.resolver.Answer``;
    ``canonical_name`` is the owner of the records (the end of a CNAME
    chain) and ``expiration`` the time the shortest TTL of the chain runs
    out.
    """

    canonical_name: dns.name.Name
    rdtype: int
    ttl: int
    rdatas: tuple[dns.rdata.Rdata, ...]
    expiration: float

    @classmethod
    def of(cls, answer: dns.resolver.Answer) -> CachedAnswer:
        """What ``answer`` says, copied out of its response message."""
        rrset = answer.rrset
        return cls(
            answer.canonical_name,
            int(answer.rdtype),
            rrset.ttl if rrset is not None else 0,
            tuple(rrset) if rrset is not None else (),
            answer.expiration,
        )

    @property
    def rrset(self) -> dns.rrset.RRset | None:
        """The records as an RRset (built on each call); None when there are none."""
        if not self.rdatas:
            return None
        return dns.rrset.from_rdata_list(self.canonical_name, self.ttl, self.rdatas)

    def __iter__(self) -> Iterator[dns.rdata.Rdata]:
        return iter(self.rdatas)

    def __len__(self) -> int:
        return len(self.rdatas)

    def __getitem__(self, index: int) -> dns.rdata.Rdata:
        return self.rdatas[index]


@dataclass(frozen=True, slots=True)
class _Negative:
    nxdomain: bool
    # As it was asked (NXDOMAIN) or echoed (NODATA): the exception's text
    # names it, and stays what dnspython said the first time.
    qname: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    expires: float

    def raise_again(self) -> NoReturn:
        # A fresh exception per hit: one instance raised in several threads
        # would share (and grow) one traceback. It carries no response (the
        # reply's records are not kept), and its text is the one dnspython
        # gave, built without formatting a question: a cached negative
        # answer is raised for every domain that includes a shared record.
        if self.nxdomain:
            raise dns.resolver.NXDOMAIN(qnames=[self.qname])
        raise dns.resolver.NoAnswer(
            f"{_NO_ANSWER}: {self.qname} IN {dns.rdatatype.to_text(self.rdtype)}"
        )


_NO_ANSWER = "The DNS response does not contain an answer to the question"


class NoData(dns.resolver.NoAnswer):
    """dnspython's ``NoAnswer`` for a NODATA reply read off the wire
    (:mod:`checks.dns_reply`): its text built without formatting a question (a sweep
    meets thousands: every CNAME asked beside a TXT record, every AAAA of an IPv4-only
    host), with the reply's negative TTL (None: no SOA) instead of the reply."""

    def __init__(self, qname: dns.name.Name, rdtype: int, negative_ttl: int | None) -> None:
        text = dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))
        super().__init__(f"{_NO_ANSWER}: {qname} IN {text}")  # type: ignore[no-untyped-call]
        self.qname = qname
        self.negative_ttl = negative_ttl


class NoSuchName(dns.resolver.NXDOMAIN):
    """dnspython's ``NXDOMAIN`` for a reply read off the wire, with its negative TTL
    (None: no SOA) instead of the reply."""

    def __init__(self, qname: dns.name.Name, negative_ttl: int | None) -> None:
        super().__init__(qnames=[qname])  # type: ignore[no-untyped-call]
        self.qname = qname
        self.negative_ttl = negative_ttl


def negative_ttl(response: dns.message.Message | None) -> int | None:
    """RFC 2308 negative TTL of ``response``; None when it carries no SOA."""
    if response is None:
        return None
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA and len(rrset):
            return int(min(rrset.ttl, rrset[0].minimum))
    return None


class SweepCache:
    """Answers seen in one sweep, until their TTL runs out."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._answers: dict[CacheKey, CachedAnswer] = {}
        self._negatives: dict[CacheKey, _Negative] = {}
        # Keys answered from the cache since the last release_unshared().
        self._shared: set[CacheKey] = set()

    def get(self, key: CacheKey) -> CachedAnswer | None:
        """The cached answer; raises NXDOMAIN/NoAnswer for a cached negative one."""
        now = self._clock()
        answer = self._answers.get(key)
        if answer is not None and answer.expiration > now:
            self._shared.add(key)
            return answer
        negative = self._negatives.get(key)
        if negative is not None and negative.expires > now:
            self._shared.add(key)
            negative.raise_again()
        return None

    def release_unshared(self) -> int:
        """Forget the answers nobody asked for again since the last call; how many.

        A sweep in batches calls this between them: a record that several
        targets share (an ESP's ``include:``) is asked again and again and
        stays, while the records of one target (its DKIM keys, its MX) are
        let go once its batch is done, so the cache does not grow with the
        fleet.
        """
        shared = self._shared
        before = len(self)
        self._answers = {k: v for k, v in self._answers.items() if k in shared}
        self._negatives = {k: v for k, v in self._negatives.items() if k in shared}
        self._shared = set()
        return before - len(self)

    def put(self, key: CacheKey, answer: CachedAnswer) -> None:
        """Keep a positive answer until it expires."""
        if answer.rdatas:
            self._answers[key] = answer

    def put_negative(
        self, key: CacheKey, error: dns.resolver.NXDOMAIN | dns.resolver.NoAnswer
    ) -> None:
        """Keep an NXDOMAIN or NODATA answer for its negative TTL."""
        qname: dns.name.Name | None
        nxdomain = isinstance(error, dns.resolver.NXDOMAIN)
        if isinstance(error, NoData | NoSuchName):
            ttl, qname = error.negative_ttl, error.qname
        elif nxdomain:
            responses = error.kwargs.get("responses") or {}
            response = next(reversed(responses.values()), None) if responses else None
            # Search is off (see ProbeResolver.resolve): one name was asked.
            qname = error.kwargs["qnames"][0]
            ttl = negative_ttl(response)
        else:
            response = error.kwargs.get("response")
            qname = (
                response.question[0].name if response is not None and response.question else None
            )
            ttl = negative_ttl(response)
        if ttl is None or qname is None:
            return
        rdtype = dns.rdatatype.RdataType.make(key[1])
        self._negatives[key] = _Negative(nxdomain, qname, rdtype, self._clock() + ttl)

    def __len__(self) -> int:
        return len(self._answers) + len(self._negatives)
