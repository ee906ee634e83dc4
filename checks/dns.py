"""The one DNS seam of Postwarden.

Every probe, and every checkdmarc call a probe makes, resolves through a
:class:`ProbeResolver` handed out by a :class:`DnsSweep`. A sweep holds what
all targets of one run share:

- one TTL-respecting answer cache (positive and negative answers), so a
  thousand domains that include the same ESP record cost one lookup of it;
- single-flight: concurrent probes asking the same question wait for the
  first one's answer instead of each sending a query;
- the failures seen so far: a name that timed out is not asked again in the
  same sweep, so one dead zone costs one timeout, not one per probe.

A ``ProbeResolver`` also records the failures its own probe ran into, which
is how a probe tells "could not determine" (status ``error``) apart from
"the record is missing" even when the failure happened deep inside a
library call that only reports a string.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import checks._dnspython  # noqa: F401  (before dnspython: see there)

# isort: split

import dns.exception
import dns.flags
import dns.inet
import dns.message
import dns.name
import dns.nameserver
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset

from checks.dns_cache import CachedAnswer, CacheKey, NoData, NoSuchName, SweepCache, cache_key
from checks.dns_exchange import UdpSockets, exchange

# Their home is checks.dns_settings, which imports no dnspython; imported here by callers too.
from checks.dns_settings import (  # noqa: F401  (re-exported for callers of checks.dns)
    DEFAULT_CONCURRENCY,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    DnsSettings,
    Nameserver,
    parse_nameserver,
)
from checks.errors import Unavailable


@dataclass(frozen=True)
class DnsFailure:
    """A lookup that could not be answered (timeout, SERVFAIL, REFUSED, …)."""

    name: str
    rdtype: str
    reason: str

    def describe(self) -> str:
        return f"{self.name} {self.rdtype}: {self.reason}"


class DnsError(Unavailable):
    """A lookup failed for a reason that says nothing about the records."""

    def __init__(self, failure: DnsFailure) -> None:
        super().__init__(failure.describe())
        self.failure = failure


# Exceptions that mean "no answer could be had", as opposed to NXDOMAIN or
# NoAnswer, which are answers.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    dns.exception.Timeout,
    dns.resolver.NoNameservers,
    dns.resolver.YXDOMAIN,
    OSError,
)


def _reason(error: BaseException) -> str:
    if isinstance(error, dns.exception.Timeout):
        return "timeout"
    if isinstance(error, dns.resolver.NoNameservers):
        reasons = []
        for entry in error.kwargs.get("errors", []):
            response = entry[4] if len(entry) > 4 else None
            if response is not None:
                reasons.append(dns.rcode.to_text(response.rcode()))
            else:
                reasons.append(str(entry[3]))
        return ", ".join(dict.fromkeys(reasons)) or "no nameserver answered"
    return str(error) or type(error).__name__


def system_nameservers() -> tuple[Nameserver, ...]:
    """The nameservers of the system's resolver configuration (port 53)."""
    system = dns.resolver.Resolver()
    return tuple(Nameserver(str(ns), 53) for ns in system.nameservers)


class _Flight:
    """The lock of one question being asked, and how many probes hold or wait for it."""

    __slots__ = ("lock", "probes")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.probes = 0


class DnsSweep:
    """The cache, single-flight locks and failure memory of one sweep."""

    def __init__(self, settings: DnsSettings | None = None) -> None:
        self.settings = settings or DnsSettings()
        servers = self.settings.nameservers or system_nameservers()
        # dnspython's view of them, for libraries that read a resolver's nameservers.
        self._nameservers = [dns.nameserver.Do53Nameserver(ns.host, ns.port) for ns in servers]
        self.addresses = [(ns.host, ns.port) for ns in servers]
        self.cache = SweepCache()
        self._guard = threading.Lock()
        self._flights: dict[CacheKey, _Flight] = {}
        self._failures: dict[CacheKey, DnsFailure] = {}

    def resolver(
        self, deadline: float | None = None, sockets: UdpSockets | None = None
    ) -> ProbeResolver:
        """A resolver for one probe, sharing this sweep's cache.

        ``deadline`` (a ``time.monotonic()`` value) is when its target's
        budget runs out; None means every lookup gets its whole lifetime.
        ``sockets`` are the probe thread's, which it closes (None: a socket
        per query).
        """
        return ProbeResolver(self, self._nameservers, deadline, sockets)

    def _take_flight(self, key: CacheKey, wait: float | None) -> _Flight | None:
        """Hold the one lock of ``key`` while it is being asked (give it back with
        :meth:`_land`); None, holding nothing, when it was not had within
        ``wait`` seconds (None waits as long as it takes).

        The lock lives only while some probe holds or waits for it: once a
        question is answered the cache (or the failure memory) answers it,
        and a lock kept for every name ever asked would be held to the end of
        the sweep for nothing. (Two plain calls, not a context manager: this
        runs for every lookup the cache misses, and a generator-based one
        cost a tenth of a sweep's CPU.)
        """
        with self._guard:
            flight = self._flights.get(key)
            if flight is None:
                flight = self._flights[key] = _Flight()
            flight.probes += 1
        if flight.lock.acquire(timeout=-1 if wait is None else max(0.0, wait)):
            return flight
        self._leave(key, flight)
        return None

    def _land(self, key: CacheKey, flight: _Flight) -> None:
        """Give back the lock :meth:`_take_flight` returned."""
        flight.lock.release()
        self._leave(key, flight)

    def _leave(self, key: CacheKey, flight: _Flight) -> None:
        with self._guard:
            flight.probes -= 1
            if not flight.probes:
                del self._flights[key]

    def _failure_for(self, key: CacheKey) -> DnsFailure | None:
        with self._guard:
            return self._failures.get(key)

    def _remember_failure(self, key: CacheKey, failure: DnsFailure) -> None:
        with self._guard:
            self._failures[key] = failure

    @property
    def failures(self) -> list[DnsFailure]:
        """Every failure seen in this sweep so far."""
        with self._guard:
            return list(self._failures.values())


@functools.cache
def _type_text(type_code: int) -> str:
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(type_code))


@functools.cache
def _type_code(rdtype: dns.rdatatype.RdataType | str | int) -> int:
    return int(dns.rdatatype.RdataType.make(rdtype))


class _SweepFailure(dns.exception.DNSException):
    """A lookup that already failed earlier in this sweep."""

    def __init__(self, reason: str) -> None:
        # dnspython's DNSException.__init__ is unannotated (*args, **kwargs).
        super().__init__(reason)  # type: ignore[no-untyped-call]


class _OutOfTime(dns.exception.Timeout):
    """A lookup not asked (or cut short) because its target's budget ran out."""

    def __init__(self, *, timeout: float) -> None:
        super().__init__(timeout=timeout)  # type: ignore[no-untyped-call]


TRANSIENT_OR_KNOWN: tuple[type[BaseException], ...] = (*TRANSIENT_ERRORS, _SweepFailure)
# What dnspython raises for text that cannot be a domain name (a name taken
# from a record or a message: an empty or too long label, a bad IDNA label).
UNREPRESENTABLE: tuple[type[BaseException], ...] = (
    dns.name.EmptyLabel,
    dns.name.LabelTooLong,
    dns.name.NameTooLong,
    dns.name.BadEscape,
    dns.name.IDNAException,
)


_UNCONFIGURED: dict[str, object] = {}


def _unconfigured_state() -> dict[str, object]:
    """The attributes of ``dns.resolver.Resolver(configure=False)``, copied.

    A probe gets a resolver of its own, and dnspython's ``reset`` reads and
    parses the host name each time (for search domains, which probes do not
    use): taken once per process, the state is copied for each probe.
    """
    if not _UNCONFIGURED:
        _UNCONFIGURED.update(vars(dns.resolver.Resolver(configure=False)))
    return {
        name: value.copy() if isinstance(value, list | dict) else value
        for name, value in _UNCONFIGURED.items()
    }


class ProbeResolver(dns.resolver.Resolver):
    """A dnspython resolver bound to a sweep; records the failures it meets.

    It is a real ``dns.resolver.Resolver`` so it can be handed to checkdmarc
    (``resolver=``) as well as used directly through :meth:`lookup`.
    """

    def __init__(
        self,
        sweep: DnsSweep,
        nameservers: Sequence[dns.nameserver.Nameserver],
        deadline: float | None = None,
        sockets: UdpSockets | None = None,
    ) -> None:
        self.__dict__.update(_unconfigured_state())
        self.sweep = sweep
        self.nameservers = list(nameservers)
        # The sweep caches (see resolve); dnspython's own cache stays off.
        self.cache = None
        # dnspython re-sends a query that timed out for as long as the
        # lifetime allows: that is what makes `retries` retries.
        self.timeout = sweep.settings.timeout
        self.lifetime = sweep.settings.lookup_lifetime
        self.deadline = deadline
        self.failures: list[DnsFailure] = []
        # A probe thread's sockets (see UdpSockets); None: a socket per query.
        self.sockets = sockets

    def resolve(  # type: ignore[override]
        self,
        qname: dns.name.Name | str,
        rdtype: dns.rdatatype.RdataType | str = dns.rdatatype.A,
        *args: object,
        **kwargs: object,
    ) -> CachedAnswer:
        """The answer to ``qname``/``rdtype``, from this sweep's cache when it has it.

        It is a :class:`CachedAnswer` (records, no response message) whether
        it came from the cache or the network, so a hit and a miss look alike.
        Of dnspython's other arguments only ``lifetime`` and ``search`` are
        taken (and ignored: the sweep's settings and the target's budget
        decide the one, the other is always off); anything else (a class,
        TCP, a source address) is refused rather than silently dropped.
        """
        if args or set(kwargs) - {"lifetime", "search"}:
            raise TypeError(f"ProbeResolver.resolve: unsupported arguments {args} {kwargs}")
        type_code = _type_code(rdtype)
        text = qname if isinstance(qname, str) else qname.to_text()
        key = cache_key(text, type_code)
        cache = self.sweep.cache
        answer = cache.get(key)
        if answer is not None:
            return answer
        flight = self.sweep._take_flight(key, self._time_left())
        if flight is None:
            raise self._out_of_time(key)
        try:
            return self._resolve_held(key, text, type_code)
        finally:
            self.sweep._land(key, flight)

    def _resolve_held(self, key: CacheKey, text: str, type_code: int) -> CachedAnswer:
        """:meth:`resolve` of a cache miss, with the question's lock held."""
        cache = self.sweep.cache
        # Whoever held the lock before us may have answered it.
        answer = cache.get(key)
        if answer is not None:
            return answer
        known = self.sweep._failure_for(key)
        if known is not None:
            self.failures.append(known)
            raise _SweepFailure(known.describe())
        left = self._time_left()
        if left is not None and left <= 0:
            raise self._out_of_time(key)
        # Cut short by the target's budget, a timeout says nothing about
        # the name for other targets of the sweep, so it is not remembered.
        short = left is not None and left < self.lifetime
        name = dns.name.from_text(text)
        try:
            received = self._ask(name, type_code, lifetime=left if short else None)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer) as negative:
            cache.put_negative(key, negative)
            raise
        except TRANSIENT_ERRORS as error:
            failure = DnsFailure(key[0] or ".", _type_text(type_code), _reason(error))
            self.failures.append(failure)
            if not short:
                self.sweep._remember_failure(key, failure)
            raise
        cache.put(key, received)
        return received

    def _time_left(self) -> float | None:
        """Seconds until this probe's target runs out of time (None: no budget)."""
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()

    def _out_of_time(self, key: CacheKey) -> _OutOfTime:
        budget = self.sweep.settings.target_budget
        failure = DnsFailure(
            key[0] or ".",
            _type_text(key[1]),
            f"not asked: the checks of this target ran out of time ({budget:g} s)",
        )
        self.failures.append(failure)
        # checkdmarc reads a timeout's seconds from its kwargs.
        return _OutOfTime(timeout=budget)

    def _ask(
        self,
        name: dns.name.Name,
        type_code: int,
        lifetime: float | None,
    ) -> CachedAnswer:
        """Ask the nameservers; NXDOMAIN and NODATA raise as dnspython raises them."""
        chain = exchange(
            name,
            type_code,
            self.sweep.addresses,
            self.timeout,
            self.lifetime if lifetime is None else lifetime,
            self.sockets,
        )
        if chain.rcode == dns.rcode.NXDOMAIN:
            raise NoSuchName(name, chain.negative_ttl)
        if not chain.rdatas:
            raise NoData(name, type_code, chain.negative_ttl)
        return CachedAnswer(
            chain.canonical_name,
            type_code,
            chain.ttl,
            chain.rdatas,
            time.time() + chain.minimum_ttl,
        )

    def lookup(self, name: str, rdtype: str) -> list[dns.rdata.Rdata]:
        """The records of ``name``/``rdtype``; ``[]`` when there are none.

        NXDOMAIN and NODATA are answers (an empty list), and so is a name that
        cannot be in DNS at all. Anything that is not an answer raises
        :class:`DnsError`.
        """
        try:
            return list(self.resolve(name, rdtype))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except UNREPRESENTABLE:  # no such name can be in DNS, so it has no records
            return []
        except TRANSIENT_OR_KNOWN:
            raise DnsError(self.failures[-1]) from None

    def lookup_txt(self, name: str) -> list[str]:
        """TXT records of ``name``, each with its strings joined."""
        return [
            b"".join(rdata.strings).decode("utf-8", "replace")  # type: ignore[attr-defined]
            for rdata in self.lookup(name, "TXT")
        ]

    def lookup_signed(
        self, name: str, rdtype: str
    ) -> tuple[dns.rrset.RRset | None, dns.rrset.RRset | None]:
        """The RRset of ``name``/``rdtype`` and the RRSIGs covering it, for DNSSEC validation.

        Asked with the DO bit and checking disabled (CD), so that a validating
        resolver hands over what it has and the caller validates; not cached
        (the sweep's cache keeps no signatures). ``(None, None)`` when there
        is no such RRset; :class:`DnsError` when no answer could be had.
        """
        qname = dns.name.from_text(name)
        type_code = dns.rdatatype.RdataType.make(rdtype)
        request = dns.message.make_query(qname, type_code, want_dnssec=True)
        request.flags |= dns.flags.CD
        response: dns.message.Message | None = None
        reason = "no nameserver"
        servers = [ns for ns in self.nameservers if isinstance(ns, dns.nameserver.Nameserver)]
        for server in servers * (self.sweep.settings.retries + 1):
            try:
                response, _tcp = dns.query.udp_with_fallback(
                    request,
                    server.answer_nameserver(),
                    timeout=self.timeout,
                    port=server.answer_port(),
                )
            except TRANSIENT_ERRORS as error:
                reason = _reason(error)
                continue
            if response.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                break
            reason = dns.rcode.to_text(response.rcode())
            response = None
        if response is None:
            failure = DnsFailure(name, rdtype, reason)
            self.failures.append(failure)
            raise DnsError(failure)
        try:
            rrset = response.find_rrset(response.answer, qname, dns.rdataclass.IN, type_code)
        except KeyError:
            return None, None
        try:
            signatures = response.find_rrset(
                response.answer, qname, dns.rdataclass.IN, dns.rdatatype.RRSIG, type_code
            )
        except KeyError:
            signatures = None
        return rrset, signatures
