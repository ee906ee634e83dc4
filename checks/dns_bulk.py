"""Many small lookups at once: the asyncio side of the DNS seam.

Blocklist sweeps ask one A question per (address, zone): ten thousand
addresses against five zones is fifty thousand questions, nearly all of
them answered NXDOMAIN. Sending those through dnspython's resolver costs
about 130 µs of CPU each (building the query, parsing the reply and its SOA),
which caps a sweep near 7,000 queries/s on one core. This module keeps every
question in flight on one UDP socket per nameserver and judges a reply by
its 12-byte header when that is all there is to know (RFC 1035 section
4.1.1: NXDOMAIN, or NOERROR with no answer records); a reply that carries
records is parsed by dnspython, and a truncated one is asked again over TCP
by dnspython.

A reply is accepted only from the nameserver asked (connected socket), with
the ID of an outstanding question and that question echoed back. Timeouts
and retries follow :class:`checks.dns.DnsSettings`; SERVFAIL and REFUSED
move on to the next nameserver, and a lookup nobody could answer returns a
:class:`checks.dns.DnsFailure`, never an empty answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import socket
import struct
from dataclasses import dataclass

import checks._dnspython  # noqa: F401  (before dnspython: see there)

# isort: split

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from checks.dns import DnsFailure, system_nameservers
from checks.dns_settings import DnsSettings, Nameserver

A = dns.rdatatype.A
TXT = dns.rdatatype.TXT
_HEADER = struct.Struct("!HHHHHH")
_RD = 0x0100  # recursion desired
_QR = 0x8000
_TC = 0x0200
_OPCODE = 0x7800
_RECEIVE_BUFFER = 4 * 1024 * 1024
# How often outstanding questions are checked for their deadline.
_EXPIRY_TICK = 0.05


class _QuestionTails(dict[int, bytes]):
    """QTYPE and QCLASS (IN) of a question, by type, packed once."""

    def __missing__(self, rdtype: int) -> bytes:
        tail = self[rdtype] = struct.pack("!HH", rdtype, 1)
        return tail


_QUESTION_TAIL = _QuestionTails()


@dataclass(frozen=True)
class BulkAnswer:
    """The outcome of one lookup: records (A addresses, TXT strings), or a failure."""

    name: str
    rdtype: int
    records: tuple[str, ...] = ()
    nxdomain: bool = False
    ttl: int = 0
    failure: DnsFailure | None = None


def encode_question(name: str, rdtype: int) -> bytes:
    """The wire form of the question ``name``/``rdtype``/IN (RFC 1035 section 4.1.2).

    ``name`` must be ASCII (IDNA-encoded); labels of 1-63 octets.
    """
    labels = name.rstrip(".").encode("ascii").split(b".")
    if not all(0 < len(label) < 64 for label in labels):
        raise ValueError(f"{name!r}: a DNS label must be 1-63 characters")
    wire = b"".join([bytes((len(label),)) + label for label in labels]) + b"\0"
    if len(wire) > 255:
        raise ValueError(f"{name!r}: longer than 255 octets")
    return wire + _QUESTION_TAIL[rdtype]


@dataclass
class _Outstanding:
    question: bytes
    future: asyncio.Future[bytes | None]
    deadline: float


class _Channel:
    """One connected UDP socket to one nameserver and its outstanding questions.

    The socket is read by one reader callback that drains every reply
    waiting, rather than asyncio's datagram transport, which takes one
    reply per turn of the event loop. Deadlines are enforced by one periodic
    tick rather than a timer per question: tens of thousands of timers in
    the loop's heap cost more than the lookups themselves.
    """

    def __init__(self, server: Nameserver, loop: asyncio.AbstractEventLoop) -> None:
        self.server = server
        self.outstanding: dict[int, _Outstanding] = {}
        self._loop = loop
        self._tick: asyncio.TimerHandle | None = None
        family = socket.AF_INET6 if ":" in server.host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        # Hundreds of replies can arrive between two reads; the kernel drops
        # what does not fit (it caps the size at net.core.rmem_max).
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER)
        self._sock.connect((server.host, server.port))
        loop.add_reader(self._sock.fileno(), self._drain)

    def close(self) -> None:
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        if self._tick is not None:
            self._tick.cancel()

    def _drain(self) -> None:
        while True:
            try:
                data = self._sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                # ICMP port unreachable and the like: the questions on this
                # socket then time out, which is reported per lookup.
                continue
            self._received(data)

    def _received(self, data: bytes) -> None:
        if len(data) < 12:
            return
        query_id = int.from_bytes(data[:2], "big")
        entry = self.outstanding.get(query_id)
        # The question must come back as asked (case aside): anything else
        # is a stray or forged reply and is dropped.
        if entry is None or data[12 : 12 + len(entry.question)].lower() != entry.question:
            return
        del self.outstanding[query_id]
        if not entry.future.done():
            entry.future.set_result(data)

    def ask(self, question: bytes, timeout: float) -> asyncio.Future[bytes | None]:
        """Send ``question``; the future gets the reply, or None after ``timeout``."""
        future: asyncio.Future[bytes | None] = self._loop.create_future()
        query_id = random.getrandbits(16)
        while query_id in self.outstanding:
            query_id = random.getrandbits(16)
        self.outstanding[query_id] = _Outstanding(
            question.lower(), future, self._loop.time() + timeout
        )
        if self._tick is None:
            self._tick = self._loop.call_later(_EXPIRY_TICK, self._expire)
        # A question the kernel would not take times out and is asked again.
        with contextlib.suppress(BlockingIOError, InterruptedError, ConnectionRefusedError):
            self._sock.send(_HEADER.pack(query_id, _RD, 1, 0, 0, 0) + question)
        return future

    def _expire(self) -> None:
        now = self._loop.time()
        late = [qid for qid, entry in self.outstanding.items() if entry.deadline <= now]
        for query_id in late:
            entry = self.outstanding.pop(query_id)
            if not entry.future.done():
                entry.future.set_result(None)
        self._tick = self._loop.call_later(_EXPIRY_TICK, self._expire) if self.outstanding else None


class BulkResolver:
    """Asynchronous A/TXT lookups for one sweep; use as ``async with``.

    At most ``concurrency`` questions are in flight; positive answers are
    kept for their TTL and concurrent lookups of one name share one query.
    """

    def __init__(self, settings: DnsSettings | None = None, *, concurrency: int = 256) -> None:
        self.settings = settings or DnsSettings()
        self.servers = self.settings.nameservers or system_nameservers()
        self._limit = asyncio.Semaphore(concurrency)
        self._channels: list[_Channel] = []
        self._cache: dict[tuple[str, int], tuple[float, BulkAnswer]] = {}
        self._inflight: dict[tuple[str, int], asyncio.Future[BulkAnswer]] = {}
        self.queries = 0

    async def __aenter__(self) -> BulkResolver:
        loop = asyncio.get_running_loop()
        self._channels = [_Channel(server, loop) for server in self.servers]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for channel in self._channels:
            channel.close()
        self._channels = []

    async def lookup(self, name: str, rdtype: int = A) -> BulkAnswer:
        """The answer for ``name``/``rdtype``; never raises for DNS trouble."""
        key = (name.lower().rstrip("."), rdtype)
        loop = asyncio.get_running_loop()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > loop.time():
            return cached[1]
        shared = self._inflight.get(key)
        if shared is not None:
            return await asyncio.shield(shared)
        future: asyncio.Future[BulkAnswer] = loop.create_future()
        self._inflight[key] = future
        try:
            async with self._limit:
                answer = await self._resolve(key[0], rdtype)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: the caller below re-raises it
            raise
        finally:
            del self._inflight[key]
        if answer.records and answer.ttl > 0:
            self._cache[key] = (loop.time() + answer.ttl, answer)
        future.set_result(answer)
        return answer

    async def _resolve(self, name: str, rdtype: int) -> BulkAnswer:
        question = encode_question(name, rdtype)
        reasons: list[str] = []
        attempts = (self.settings.retries + 1) * len(self._channels)
        for attempt in range(attempts):
            channel = self._channels[attempt % len(self._channels)]
            self.queries += 1
            reply = await channel.ask(question, self.settings.timeout)
            if reply is None:
                reasons.append("timeout")
                continue
            judged = read_reply(name, rdtype, reply)
            if judged == TRUNCATED:
                return await self._resolve_tcp(name, rdtype, channel.server)
            if isinstance(judged, BulkAnswer):
                return judged
            reasons.append(judged)
        reason = ", ".join(dict.fromkeys(reasons)) or "no nameserver answered"
        failure = DnsFailure(name, dns.rdatatype.to_text(dns.rdatatype.RdataType(rdtype)), reason)
        return BulkAnswer(name, rdtype, failure=failure)

    async def _resolve_tcp(self, name: str, rdtype: int, server: Nameserver) -> BulkAnswer:
        query = dns.message.make_query(name, dns.rdatatype.RdataType(rdtype))
        try:
            response = await dns.asyncquery.tcp(
                query, server.host, timeout=self.settings.timeout, port=server.port
            )
        except (dns.exception.DNSException, OSError) as error:
            reason = "timeout" if isinstance(error, dns.exception.Timeout) else str(error)
            failure = DnsFailure(
                name, dns.rdatatype.to_text(dns.rdatatype.RdataType(rdtype)), reason
            )
            return BulkAnswer(name, rdtype, failure=failure)
        if response.rcode() == dns.rcode.NXDOMAIN:
            return BulkAnswer(name, rdtype, nxdomain=True)
        records = _records(name, rdtype, response)
        if isinstance(records, str):
            failure = DnsFailure(
                name, dns.rdatatype.to_text(dns.rdatatype.RdataType(rdtype)), records
            )
            return BulkAnswer(name, rdtype, failure=failure)
        return records


TRUNCATED = "truncated"


def read_reply(name: str, rdtype: int, reply: bytes) -> BulkAnswer | str:
    """Judge one UDP reply to the question ``name``/``rdtype`` (pure).

    The answer, or why there is none: :data:`TRUNCATED` (ask again over
    TCP) or a reason to ask the next nameserver (an error rcode, a reply
    that does not parse). A nameserver's bytes never raise from here.
    """
    if len(reply) < _HEADER.size:
        return "malformed reply"
    _id, flags, _qd, ancount, _ns, _ar = _HEADER.unpack_from(reply)
    rcode = flags & 0x000F
    # A reply must be a response to a standard query (opcode 0).
    if not flags & _QR or flags & _OPCODE:
        return "malformed reply"
    if flags & _TC:
        return TRUNCATED
    if rcode == dns.rcode.NXDOMAIN:
        return BulkAnswer(name, rdtype, nxdomain=True)
    if rcode != dns.rcode.NOERROR:
        return dns.rcode.to_text(dns.rcode.Rcode(rcode))
    if ancount == 0:
        return BulkAnswer(name, rdtype)
    try:
        response = dns.message.from_wire(reply)
    except dns.exception.DNSException:
        return "malformed reply"
    return _records(name, rdtype, response)


def _records(name: str, rdtype: int, response: dns.message.Message) -> BulkAnswer | str:
    """The records of a parsed reply, following CNAMEs as dnspython does; a reason if it
    cannot be read."""
    if not isinstance(response, dns.message.QueryMessage):
        return "malformed reply"
    try:
        chain = response.resolve_chaining()
    except dns.exception.DNSException:  # a CNAME loop, a chain too long
        return "malformed reply"
    if chain.answer is None:
        return BulkAnswer(name, rdtype)
    if rdtype == TXT:
        records = tuple(
            b"".join(rdata.strings).decode("utf-8", "replace") for rdata in chain.answer
        )
    else:
        records = tuple(rdata.to_text() for rdata in chain.answer)
    return BulkAnswer(name, rdtype, records=records, ttl=chain.minimum_ttl)


def reverse_address(address: str) -> str:
    """The RFC 5782 query prefix of an IP address (reversed octets or nibbles)."""
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        return ".".join(reversed(str(ip).split(".")))
    return ".".join(reversed(ip.exploded.replace(":", "")))
