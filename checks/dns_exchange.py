"""One lookup on the wire for a probe: a query, its tries, the reply it gets.

dnspython's ``Resolver.resolve`` builds a ``_Resolution``, an ``Answer``
(and, on the way, a selector per wait, nameserver objects per call and a
formatted question per negative answer); in a sweep that was a quarter of
all CPU time beside the work the answer needs (building the query, parsing
the reply). This is the same exchange, lean: the query is sent to the
nameservers in turn, each try waits ``timeout`` from its send (looking at
the socket before it gives up, so a process held up by a busy CPU does not
declare a timeout for a reply waiting there), until ``lifetime`` after the
first send. A nameserver answering SERVFAIL or REFUSED is not asked again;
a truncated reply is asked again over TCP.
"""

from __future__ import annotations

import math
import os
import socket
import struct
import threading
import time
from collections.abc import Sequence

import checks._dnspython  # noqa: F401  (before dnspython: see there)

# isort: split

import dns.exception
import dns.flags
import dns.inet
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from checks.dns_reply import Chain, read_chain

_ANSWERS = (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)
# A try with less time than this left is not sent: it could not be answered.
_SHORTEST_TRY = 0.01
_HEADER = struct.Struct("!HHHHHH")
_QUESTION_TAIL = struct.Struct("!HH")
# Replies that need not echo the question (RFC 1035 leaves it to the server).
_ERRORS_WITHOUT_QUESTION = (
    dns.rcode.FORMERR,
    dns.rcode.SERVFAIL,
    dns.rcode.NOTIMP,
    dns.rcode.REFUSED,
)


class _QueryIds(threading.local):
    """Unpredictable query ids, drawn from the OS's generator a few hundred at a time.

    An id is what a forged reply must guess (RFC 5452), so it comes from
    ``os.urandom`` as ``secrets`` would take it, but not with a system call per
    query: each call hands the interpreter lock to one of the 64 waiting probe
    threads. Per thread, so no lock is shared; emptied in a forked child (whose
    one thread is the forking one), so two processes never send the same ids.
    """

    def __init__(self) -> None:
        self.ids: list[int] = []

    def next(self) -> int:
        if not self.ids:
            drawn = os.urandom(2 * _IDS_PER_DRAW)
            self.ids = list(struct.unpack(f"!{_IDS_PER_DRAW}H", drawn))
        return self.ids.pop()

    def forget(self) -> None:
        self.ids = []


_IDS_PER_DRAW = 256
_QUERY_IDS = _QueryIds()
os.register_at_fork(after_in_child=_QUERY_IDS.forget)


def _next_query_id() -> int:
    return _QUERY_IDS.next()


def query_wire(query_id: int, name: dns.name.Name, rdtype: int) -> bytes:
    """The bytes of ``dns.message.make_query(name, rdtype)`` with id ``query_id``.

    Recursion desired, class IN, no EDNS. Built directly: a probe sends
    about ten queries per domain, and building a message object and
    rendering it (with name compression a single question has no use for)
    was a tenth of a sweep's CPU.
    """
    header = _HEADER.pack(query_id, dns.flags.RD, 1, 0, 0, 0)
    # Without a file to write to, to_wire returns the (absolute) name's bytes.
    owner = name.to_wire()
    assert owner is not None
    return header + owner + _QUESTION_TAIL.pack(rdtype, dns.rdataclass.IN)


def matches_query(data: bytes, query: bytes) -> bool:
    """Whether the datagram ``data`` is a reply to ``query`` (from :func:`query_wire`), read
    from its header and question as ``Message.is_response`` judges a parsed one.

    The question is compared byte for byte, the name's letters in either case: it is
    the first name of a message, never compressed.
    """
    if len(data) < _HEADER.size or data[:2] != query[:2]:
        return False
    flags = data[2]
    # QR set, opcode QUERY.
    if not flags & 0x80 or flags & 0x78:
        return False
    questions = int.from_bytes(data[4:6], "big")
    if questions == 0:
        return data[3] & 0x0F in _ERRORS_WITHOUT_QUESTION
    if questions != 1:
        return False
    question = query[_HEADER.size :]
    echoed = data[_HEADER.size : _HEADER.size + len(question)]
    return echoed[:-4].lower() == question[:-4].lower() and echoed[-4:] == question[-4:]


def _query_message(query_id: int, name: dns.name.Name, rdtype: int) -> dns.message.QueryMessage:
    """The query as a message, for the rare paths that need one (TCP, errors)."""
    query = dns.message.make_query(name, dns.rdatatype.RdataType(rdtype))
    query.id = query_id
    return query


def exchange(
    name: dns.name.Name,
    rdtype: int,
    nameservers: Sequence[tuple[str, int]],
    timeout: float,
    lifetime: float,
    sockets: UdpSockets | None = None,
) -> Chain:
    """The reply (NOERROR or NXDOMAIN) to ``name``/``rdtype``, as :func:`read_chain` reads it.

    ``sockets`` are the asking thread's (see :class:`UdpSockets`); without
    them each try has a socket of its own. Raises
    ``dns.resolver.LifetimeTimeout`` when no reply came within ``lifetime``,
    ``dns.resolver.NoNameservers`` when every nameserver (``(address, port)``)
    answered with an error (the errors carry their replies; a reply that does
    not read is that nameserver's error).
    """
    query_id = _next_query_id()
    wire = query_wire(query_id, name, rdtype)
    live = list(nameservers)
    errors: list[tuple[str, bool, int, BaseException | str, dns.message.Message | None]] = []
    deadline: float | None = None
    turn = 0
    while live:
        server = live[turn % len(live)]
        host, port = server
        now = time.monotonic()
        if deadline is None:
            deadline = now + lifetime
        elif deadline - now < _SHORTEST_TRY:
            break
        try:
            reply = _ask_udp(wire, server, min(timeout, deadline - now), sockets)
        except OSError as error:  # ICMP port unreachable, no route
            errors.append((host, False, port, error, None))
            live.remove(server)
            continue
        if reply is None:
            errors.append((host, False, port, "timeout", None))
            turn += 1
            continue
        if reply[2] & 0x02:  # TC: truncated, asked again over TCP
            try:
                left = max(0.1, deadline - time.monotonic())
                query = _query_message(query_id, name, rdtype)
                reply = dns.query.tcp(query, host, timeout=left, port=port).to_wire()
            except (dns.exception.DNSException, OSError) as error:
                errors.append((host, True, port, error, None))
                live.remove(server)
                continue
        rcode = reply[3] & 0x0F
        if rcode in _ANSWERS:
            try:
                return read_chain(reply, rdtype)
            except dns.exception.DNSException as error:
                errors.append((host, False, port, error, None))
                live.remove(server)
                continue
        errors.append(
            (host, False, port, dns.rcode.to_text(dns.rcode.Rcode(rcode)), _parsed(reply))
        )
        live.remove(server)
    if any(entry[3] == "timeout" for entry in errors) or not errors:
        raise dns.resolver.LifetimeTimeout(timeout=lifetime, errors=errors)
    raise dns.resolver.NoNameservers(request=_query_message(query_id, name, rdtype), errors=errors)


def _parsed(reply: bytes) -> dns.message.Message | None:
    """An error reply as a message (NoNameservers carries them), None when it does not parse."""
    try:
        return dns.message.from_wire(reply, ignore_trailing=True)
    except dns.exception.DNSException:
        return None


class UdpSockets:
    """Connected UDP sockets, one per nameserver, that the probes of one thread reuse.

    A socket per query cost three system calls of its own (socket, connect,
    close), each handing the interpreter lock to another of the sweep's 64
    threads: with them reused, a check spent about a sixth less CPU per
    domain (4.1 against 4.9 ms at 0 ms round trip, alternated runs). The
    source port stays unpredictable (RFC 5452 section 10): each socket's
    comes from the OS, the threads in flight have one each, and a socket is
    used for at most :data:`MAX_USES` queries, then another takes its place.
    A socket whose query went unanswered is not used again: a late reply
    could meet the next query (:func:`matches_query` would refuse it, but a
    fresh port is cheaper than the doubt).
    """

    MAX_USES = 16

    def __init__(self) -> None:
        # Idle sockets by nameserver, each with the queries it has carried.
        self._idle: dict[tuple[str, int], tuple[socket.socket, int]] = {}

    def take(self, server: tuple[str, int]) -> tuple[socket.socket, int]:
        """A socket connected to ``server`` and the queries it has carried: the idle
        one while it has uses left, else a new one."""
        kept = self._idle.pop(server, None)
        if kept is not None and kept[1] < self.MAX_USES:
            return kept
        if kept is not None:
            kept[0].close()
        return _connected(server), 0

    def give_back(self, server: tuple[str, int], sock: socket.socket, uses: int) -> None:
        """Keep ``sock``, answered, for the next query to ``server``."""
        self._idle[server] = (sock, uses)

    def close(self) -> None:
        """Close every socket kept."""
        idle, self._idle = self._idle, {}
        for sock, _uses in idle.values():
            sock.close()


def _connected(server: tuple[str, int]) -> socket.socket:
    sock = socket.socket(dns.inet.af_for_address(server[0]), socket.SOCK_DGRAM)
    try:
        # Connected, so an ICMP port unreachable is an error on the next call.
        sock.connect(server)
    except OSError:
        sock.close()
        raise
    return sock


def _ask_udp(
    wire: bytes, server: tuple[str, int], wait: float, sockets: UdpSockets | None = None
) -> bytes | None:
    """Send ``wire`` once; the datagram that replies to it, or None after ``wait`` seconds.

    The socket is one of ``sockets`` when given (and given back once answered),
    else one of its own.
    """
    sock, uses = sockets.take(server) if sockets is not None else (_connected(server), 0)
    reply: bytes | None = None
    try:
        sock.send(wire)
        reply = _await_reply(sock, wire, wait)
    finally:
        if sockets is not None and reply is not None:
            sockets.give_back(server, sock, uses + 1)
        else:
            sock.close()
    return reply


def _await_reply(sock: socket.socket, wire: bytes, wait: float) -> bytes | None:
    """The datagram on ``sock`` that replies to ``wire``, or None after ``wait`` seconds."""
    give_up = time.monotonic() + wait
    while True:
        left = give_up - time.monotonic()
        try:
            if left > 0:
                # The kernel waits (SO_RCVTIMEO) rather than a poll() before the read:
                # one call, and one release of the interpreter lock, fewer per query.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(left))
                data = sock.recv(65535)
            else:
                # Looked at once more when the wait is over: a reply that came
                # while this thread was held up is an answer, not a timeout.
                data = sock.recv(65535, socket.MSG_DONTWAIT)
        except BlockingIOError:
            if left <= 0:
                return None
            continue
        if matches_query(data, wire):
            return data


_TIMEVAL = struct.Struct("@ll")


def _timeval(seconds: float) -> bytes:
    """``seconds`` as a ``struct timeval``, rounded up to the microsecond (never zero: that
    would wait forever)."""
    micros = max(1, math.ceil(seconds * 1_000_000))
    return _TIMEVAL.pack(micros // 1_000_000, micros % 1_000_000)
