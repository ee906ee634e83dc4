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

import contextlib
import functools
import select
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

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

from checks.dns_cache import CachedAnswer, CacheKey, SweepCache, cache_key

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


class PatientNameserver(dns.nameserver.Do53Nameserver):
    """A plain DNS nameserver whose UDP timeout means that no reply came in time.

    dnspython counts an exchange's deadline from before the query is sent,
    and once it has passed it gives up without looking at the socket again.
    When the process stalls (a full garbage collection over a large sweep, a
    CPU shared with other work), a probe thread comes back after its
    deadline and reports a timeout for a reply waiting in its socket, and a
    first try that overran the lifetime leaves no time for the retry. Here
    the wait counts from the send, and the socket is looked at before a
    timeout is declared. TCP (a truncated reply's retry included) is
    dnspython's.
    """

    def query(
        self,
        request: dns.message.QueryMessage,
        timeout: float,
        source: str | None,
        source_port: int,
        max_size: bool,
        one_rr_per_rrset: bool = False,
        ignore_trailing: bool = False,
    ) -> dns.message.Message:
        if max_size or source is not None or source_port:
            return super().query(
                request, timeout, source, source_port, max_size, one_rr_per_rrset, ignore_trailing
            )
        family = dns.inet.af_for_address(self.address)
        destination = dns.inet.low_level_address_tuple((self.address, self.port), family)
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            dns.query.send_udp(sock, request.to_wire(), destination)
            deadline = time.time() + timeout
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            while True:
                try:
                    response, _received = dns.query.receive_udp(
                        sock,
                        destination,
                        deadline,
                        ignore_unexpected=True,
                        one_rr_per_rrset=one_rr_per_rrset,
                        keyring=request.keyring,
                        request_mac=request.mac,
                        ignore_trailing=ignore_trailing,
                        raise_on_truncation=True,
                        ignore_errors=True,
                        query=request,
                    )
                    return response
                except dns.exception.Timeout:
                    if not poller.poll(0):
                        raise


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
        self._nameservers = [PatientNameserver(ns.host, ns.port) for ns in servers]
        self.cache = SweepCache()
        self._guard = threading.Lock()
        self._flights: dict[CacheKey, _Flight] = {}
        self._failures: dict[CacheKey, DnsFailure] = {}

    def resolver(self) -> ProbeResolver:
        """A resolver for one probe, sharing this sweep's cache."""
        return ProbeResolver(self, self._nameservers)

    @contextlib.contextmanager
    def _single_flight(self, key: CacheKey) -> Iterator[None]:
        """Hold the one lock of ``key`` while it is being asked.

        The lock lives only while some probe holds or waits for it: once a
        question is answered the cache (or the failure memory) answers it,
        and a lock kept for every name ever asked would be held to the end of
        the sweep for nothing.
        """
        with self._guard:
            flight = self._flights.get(key)
            if flight is None:
                flight = self._flights[key] = _Flight()
            flight.probes += 1
        try:
            with flight.lock:
                yield
        finally:
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
def _type_code(rdtype: dns.rdatatype.RdataType | str | int) -> int:
    return int(dns.rdatatype.RdataType.make(rdtype))


class _SweepFailure(dns.exception.DNSException):
    """A lookup that already failed earlier in this sweep."""


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

    def __init__(self, sweep: DnsSweep, nameservers: Sequence[dns.nameserver.Nameserver]) -> None:
        super().__init__(configure=False)
        self.sweep = sweep
        self.nameservers = list(nameservers)
        # The sweep caches (see resolve); dnspython's own cache stays off.
        self.cache = None
        # dnspython re-sends a query that timed out for as long as the
        # lifetime allows: that is what makes `retries` retries.
        self.timeout = sweep.settings.timeout
        self.lifetime = sweep.settings.timeout * (sweep.settings.retries + 1)
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
        """
        type_code = _type_code(rdtype)
        text = qname if isinstance(qname, str) else qname.to_text()
        key = cache_key(text, type_code)
        cache = self.sweep.cache
        answer = cache.get(key)
        if answer is not None:
            return answer
        kwargs["search"] = False
        kwargs.pop("lifetime", None)
        with self.sweep._single_flight(key):
            # Whoever held the lock before us may have answered it.
            answer = cache.get(key)
            if answer is not None:
                return answer
            known = self.sweep._failure_for(key)
            if known is not None:
                self.failures.append(known)
                raise _SweepFailure(known.describe())
            name = dns.name.from_text(text)
            try:
                received = self._ask(name, type_code, *args, **kwargs)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer) as negative:
                cache.put_negative(key, negative)
                raise
            except TRANSIENT_ERRORS as error:
                failure = DnsFailure(
                    key[0] or ".",
                    dns.rdatatype.to_text(dns.rdatatype.RdataType.make(type_code)),
                    _reason(error),
                )
                self.failures.append(failure)
                self.sweep._remember_failure(key, failure)
                raise
            answer = CachedAnswer.of(received)
            cache.put(key, answer)
            return answer

    def _ask(
        self, name: dns.name.Name, type_code: int, *args: object, **kwargs: object
    ) -> dns.resolver.Answer:
        try:
            return super().resolve(name, type_code, *args, **kwargs)  # type: ignore[arg-type]
        except dns.resolver.LifetimeTimeout as error:
            if error.kwargs.get("errors"):
                raise
        # The lifetime ran out before the first query was sent: this process
        # was held up (a long garbage collection, a starved CPU), which says
        # nothing about the nameserver. It is asked once more.
        return super().resolve(name, type_code, *args, **kwargs)  # type: ignore[arg-type]

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
