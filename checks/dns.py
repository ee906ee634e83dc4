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
import ipaddress
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import dns.exception
import dns.inet
import dns.message
import dns.name
import dns.nameserver
import dns.query
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.resolver

from checks.dns_cache import CachedAnswer, CacheKey, SweepCache, cache_key
from checks.dns_exchange import exchange

DEFAULT_TIMEOUT = 2.0
DEFAULT_RETRIES = 1


@dataclass(frozen=True)
class Nameserver:
    """A plain DNS (UDP/TCP) nameserver address."""

    host: str
    port: int = 53

    def __str__(self) -> str:
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


def parse_nameserver(text: str) -> Nameserver:
    """Parse ``HOST[:PORT]`` (IPv6 as ``[::1]:5353`` or bare ``::1``).

    Raises ``ValueError`` with a one-line reason for anything else; host
    names are refused because resolving them would need a resolver first.
    """
    value = text.strip()
    host, port_text = value, ""
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            raise ValueError(f"nameserver {text!r}: missing ']' after the IPv6 address")
        host, rest = value[1:end], value[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"nameserver {text!r}: expected ':PORT' after ']'")
            port_text = rest[1:]
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"nameserver {text!r}: {host!r} is not an IP address") from None
    port = 53
    if port_text:
        # isdigit() alone takes '²', which int() refuses.
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
            raise ValueError(f"nameserver {text!r}: port {port_text!r} is not 1-65535")
        port = int(port_text)
    return Nameserver(str(address), port)


@dataclass(frozen=True)
class DnsSettings:
    """How to resolve.

    ``nameservers`` empty means the system's; ``timeout`` is the wait for one
    answer, and a lookup that times out is sent ``retries`` more times before
    it is given up as a failure (so a dead server costs at most
    ``lookup_lifetime`` per name and sweep). The checks of one target are
    given ``target_budget`` in all: a lookup they still need after it is
    not asked, and fails the way a timeout does.
    """

    nameservers: tuple[Nameserver, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES

    @property
    def lookup_lifetime(self) -> float:
        """The longest one lookup of a probe waits: every try timing out."""
        return self.timeout * (self.retries + 1)

    @property
    def target_budget(self) -> float:
        """The longest the checks of one target wait for DNS.

        Two lookup lifetimes: a check often needs one answer before it can
        ask the next (an SPF record, then its ``include:``), so two lookups
        in a row may time out whole; whatever a check asks after that fails
        at once instead of adding another lifetime.
        """
        return 2 * self.lookup_lifetime


@dataclass(frozen=True)
class DnsFailure:
    """A lookup that could not be answered (timeout, SERVFAIL, REFUSED, …)."""

    name: str
    rdtype: str
    reason: str

    def describe(self) -> str:
        return f"{self.name} {self.rdtype}: {self.reason}"


class DnsError(Exception):
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

    def resolver(self, deadline: float | None = None) -> ProbeResolver:
        """A resolver for one probe, sharing this sweep's cache.

        ``deadline`` (a ``time.monotonic()`` value) is when its target's
        budget runs out; None means every lookup gets its whole lifetime.
        """
        return ProbeResolver(self, self._nameservers, deadline)

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


class _OutOfTime(dns.exception.Timeout):
    """A lookup not asked (or cut short) because its target's budget ran out."""


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
    ) -> None:
        super().__init__(configure=False)
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
        reply = exchange(
            name,
            type_code,
            self.sweep.addresses,
            self.timeout,
            self.lifetime if lifetime is None else lifetime,
        )
        if reply.rcode() == dns.rcode.NXDOMAIN:
            raise dns.resolver.NXDOMAIN(qnames=[name], responses={name: reply})
        chain = reply.resolve_chaining()
        if chain.answer is None:
            raise dns.resolver.NoAnswer(response=reply)
        return CachedAnswer(
            chain.canonical_name,
            type_code,
            chain.answer.ttl,
            tuple(chain.answer),
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
