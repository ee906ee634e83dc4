"""A small authoritative DNS server for loopback use.

Postwarden's tests, benchmarks and demo need real DNS on the wire, served
from zone data they write themselves. This server answers UDP and TCP
queries on one loopback port from zones given in master-file format, and can
be told to misbehave for chosen names (SERVFAIL, REFUSED, or no answer at
all) so that the `error` paths are exercised the way a user meets them.

A ``delay`` holds every reply back for that long, the way the round trip to
a real authoritative server does: benchmarks use it so that they measure
what a monitor meets on the internet, not only CPU time.

It is deliberately simple: no recursion, no zone transfers, and no DNSSEC of
its own: a zone signed by the test (``dns.dnssec.sign_zone``) is served with
its RRSIGs to a query with the DO bit, and DS at a zone's apex is answered
from the parent zone, which is all a validator needs. It
does answer NXDOMAIN vs NODATA correctly (empty non-terminals included),
synthesises wildcards, follows CNAMEs inside its own data and puts the SOA in
the authority section so resolvers can cache negative answers.
"""

from __future__ import annotations

import collections
import queue
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone

Fault = Literal["servfail", "refused", "timeout"]

_DEFAULT_SOA = "ns.{origin} hostmaster.{origin} 1 3600 600 86400 300"


@dataclass
class _Zone:
    origin: dns.name.Name
    nodes: dict[dns.name.Name, dict[int, dns.rdataset.Rdataset]]
    soa: dns.rrset.RRset
    # Names that exist only because something lives below them
    # (e.g. `_domainkey.example.com`): they answer NODATA, not NXDOMAIN.
    interior: set[dns.name.Name] = field(default_factory=set)
    # RRSIG rdatasets by owner and the type they cover.
    signatures: dict[dns.name.Name, dict[int, dns.rdataset.Rdataset]] = field(default_factory=dict)


def _load_zone(origin: str, text: str, default_ttl: int) -> _Zone:
    origin_name = dns.name.from_text(origin)
    parsed = dns.zone.from_text(
        text,
        origin=origin_name,
        relativize=False,
        check_origin=False,
        allow_include=False,
    )
    nodes: dict[dns.name.Name, dict[int, dns.rdataset.Rdataset]] = {}
    signatures: dict[dns.name.Name, dict[int, dns.rdataset.Rdataset]] = {}
    for name, node in parsed.nodes.items():
        absolute = name if name.is_absolute() else name.derelativize(origin_name)
        nodes[absolute] = {
            rdataset.rdtype: rdataset
            for rdataset in node.rdatasets
            if rdataset.rdtype != dns.rdatatype.RRSIG
        }
        signed = {
            rdataset.covers: rdataset
            for rdataset in node.rdatasets
            if rdataset.rdtype == dns.rdatatype.RRSIG
        }
        if signed:
            signatures[absolute] = signed
    apex = nodes.get(origin_name, {})
    soa_rdataset = apex.get(dns.rdatatype.SOA)
    if soa_rdataset is None:
        soa = dns.rrset.from_text(
            origin_name,
            default_ttl,
            "IN",
            "SOA",
            _DEFAULT_SOA.format(origin=origin_name.to_text()),
        )
    else:
        soa = dns.rrset.RRset(origin_name, dns.rdataclass.IN, dns.rdatatype.SOA)
        soa.update(soa_rdataset)
    interior: set[dns.name.Name] = set()
    for name in nodes:
        parent = name
        while parent != origin_name and len(parent) > len(origin_name):
            parent = parent.parent()
            interior.add(parent)
    return _Zone(origin_name, nodes, soa, interior, signatures)


class ZoneServer:
    """Serve zones on a loopback address over UDP and TCP.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    ``address`` is ``(host, port)``; port 0 picks a free port, readable from
    :attr:`port` once started. Zones and faults may be replaced while the
    server runs (a test changes DNS between two sweeps).
    """

    def __init__(
        self,
        zones: Mapping[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        default_ttl: int = 300,
        delay: float = 0.0,
    ) -> None:
        self.host = host
        self.default_ttl = default_ttl
        self.delay = delay
        # Replies waiting for their delay, in the order they are due (the
        # delay is the same for all, so arrival order is due order).
        self._outbox: queue.SimpleQueue[tuple[float, bytes, tuple[str, int]] | None] = (
            queue.SimpleQueue()
        )
        self._requested_port = port
        self._zones: dict[dns.name.Name, _Zone] = {}
        self._faults: dict[dns.name.Name, Fault] = {}
        self._lock = threading.Lock()
        self._udp: socket.socket | None = None
        self._tcp: socketserver.ThreadingTCPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.queries = 0
        self.tcp_queries = 0
        self.log: collections.Counter[tuple[str, str]] = collections.Counter()
        # Queries over UDP by the client's (address, port): which sockets asked.
        self.udp_peers: collections.Counter[tuple[str, int]] = collections.Counter()
        self._root_soa = dns.rrset.from_text(
            ".",
            default_ttl,
            "IN",
            "SOA",
            "a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 300",
        )
        for origin, text in (zones or {}).items():
            self.set_zone(origin, text)

    # -- data -----------------------------------------------------------------

    def set_zone(self, origin: str, text: str) -> None:
        """Add or replace the zone ``origin`` with master-file ``text``."""
        zone = _load_zone(origin, text, self.default_ttl)
        with self._lock:
            self._zones[zone.origin] = zone

    def remove_zone(self, origin: str) -> None:
        """Stop serving ``origin`` (its names then answer NXDOMAIN)."""
        with self._lock:
            self._zones.pop(dns.name.from_text(origin), None)

    def set_fault(self, name: str, fault: Fault | None) -> None:
        """Make ``name`` and every name below it misbehave (None clears)."""
        key = dns.name.from_text(name)
        with self._lock:
            if fault is None:
                self._faults.pop(key, None)
            else:
                self._faults[key] = fault

    # -- lifecycle ------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on (UDP and TCP share it)."""
        if self._udp is None:
            raise RuntimeError("the zone server is not started")
        return int(self._udp.getsockname()[1])

    @property
    def nameserver(self) -> str:
        """The server as a ``--nameserver`` value (``HOST:PORT``)."""
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"

    def start(self) -> ZoneServer:
        """Bind both transports and serve in background threads."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # UDP and TCP must share a port; retry a few times when port 0 hands
        # out a UDP port whose TCP twin is taken.
        for _attempt in range(20):
            udp = socket.socket(family, socket.SOCK_DGRAM)
            udp.bind((self.host, self._requested_port))
            port = udp.getsockname()[1]
            try:
                tcp = _TcpServer((self.host, port), self, family)
            except OSError:
                udp.close()
                if self._requested_port:
                    raise
                continue
            break
        else:
            raise OSError("no free port for both UDP and TCP")
        udp.settimeout(0.2)
        self._udp, self._tcp = udp, tcp
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._serve_udp, name="zoneserver-udp", daemon=True),
            threading.Thread(target=tcp.serve_forever, name="zoneserver-tcp", daemon=True),
        ]
        if self.delay > 0:
            self._threads.append(
                threading.Thread(target=self._send_delayed, name="zoneserver-delay", daemon=True)
            )
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the sockets."""
        self._stopping.set()
        self._outbox.put(None)
        if self._tcp is not None:
            self._tcp.shutdown()
            self._tcp.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._udp is not None:
            self._udp.close()
        self._udp, self._tcp, self._threads = None, None, []

    def __enter__(self) -> ZoneServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- answering ------------------------------------------------------------

    def _serve_udp(self) -> None:
        assert self._udp is not None
        sock = self._udp
        while not self._stopping.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.udp_peers[peer[:2]] += 1
            reply = self.answer(wire, max_size=512)
            if reply is None:
                continue
            if self.delay > 0:
                self._outbox.put((time.monotonic() + self.delay, reply, peer))
            else:
                sock.sendto(reply, peer)

    def _send_delayed(self) -> None:
        assert self._udp is not None
        sock = self._udp
        while (item := self._outbox.get()) is not None:
            due, reply, peer = item
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                sock.sendto(reply, peer)
            except OSError:
                return

    def answer(self, wire: bytes, *, max_size: int = 65535) -> bytes | None:
        """Answer one query in wire format; None means stay silent."""
        self.queries += 1
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        qname, rdtype = question.name, question.rdtype
        self.log[(qname.to_text().lower(), dns.rdatatype.to_text(rdtype))] += 1
        with self._lock:
            fault = self._fault_for(qname)
            zone = self._zone_for(qname)
            if zone is not None and rdtype == dns.rdatatype.DS and qname == zone.origin:
                # DS lives in the parent zone (RFC 4035 3.1.4.1).
                zone = self._zone_for(qname.parent()) if len(qname) > 1 else None
        if fault == "timeout":
            return None
        if fault == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
        elif fault == "refused":
            response.flags &= ~dns.flags.AA
            response.set_rcode(dns.rcode.REFUSED)
        elif zone is None:
            # Outside its zones the server answers as a recursive resolver
            # would for a name that does not exist.
            response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(self._root_soa)
        else:
            self._fill(response, zone, qname, rdtype, dnssec=bool(query.ednsflags & dns.flags.DO))
        if query.edns >= 0:
            max_size = max(max_size, query.payload)
        wire_out = response.to_wire(max_size=65535)
        if len(wire_out) > max_size:
            response.flags |= dns.flags.TC
            del response.answer[:]
            del response.authority[:]
            wire_out = response.to_wire()
        return wire_out

    def _fault_for(self, qname: dns.name.Name) -> Fault | None:
        for name, fault in self._faults.items():
            if qname.is_subdomain(name):
                return fault
        return None

    def _zone_for(self, qname: dns.name.Name) -> _Zone | None:
        best: _Zone | None = None
        for origin, zone in self._zones.items():
            if qname.is_subdomain(origin) and (best is None or len(origin) > len(best.origin)):
                best = zone
        return best

    def _fill(
        self,
        response: dns.message.Message,
        zone: _Zone,
        qname: dns.name.Name,
        rdtype: int,
        *,
        dnssec: bool = False,
    ) -> None:
        name = qname
        for _hop in range(8):
            node = zone.nodes.get(name)
            owner = name
            if node is None and name not in zone.interior:
                node = self._wildcard(zone, name)
            if node is None:
                if name == qname:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                response.authority.append(zone.soa)
                return
            wanted = node.get(rdtype)
            if wanted is not None:
                response.answer.append(_rrset(owner, wanted))
                signed = zone.signatures.get(owner, {}).get(rdtype)
                if dnssec and signed is not None:
                    response.answer.append(_rrset(owner, signed))
                return
            cname = node.get(dns.rdatatype.CNAME)
            if cname is None or rdtype == dns.rdatatype.CNAME:
                response.authority.append(zone.soa)
                return
            response.answer.append(_rrset(owner, cname))
            name = cname[0].target
            if not name.is_subdomain(zone.origin):
                return

    @staticmethod
    def _wildcard(zone: _Zone, name: dns.name.Name) -> dict[int, dns.rdataset.Rdataset] | None:
        encloser = name.parent()
        while len(encloser) >= len(zone.origin):
            wildcard = zone.nodes.get(dns.name.Name((b"*", *encloser.labels)))
            if wildcard is not None:
                return wildcard
            if encloser in zone.nodes or encloser in zone.interior:
                return None
            if encloser == zone.origin:
                return None
            encloser = encloser.parent()
        return None


def _rrset(owner: dns.name.Name, rdataset: dns.rdataset.Rdataset) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(owner, rdataset.rdclass, rdataset.rdtype, rdataset.covers)
    rrset.update(rdataset)
    return rrset


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], zones: ZoneServer, family: int) -> None:
        self.address_family = family
        self.zones = zones
        super().__init__(address, _TcpHandler)


class _TcpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = self.server
        assert isinstance(server, _TcpServer)
        sock: socket.socket = self.request
        sock.settimeout(5)
        while True:
            header = _read_exactly(sock, 2)
            if header is None:
                return
            (length,) = struct.unpack("!H", header)
            wire = _read_exactly(sock, length)
            if wire is None:
                return
            server.zones.tcp_queries += 1
            reply = server.zones.answer(wire)
            if reply is None:
                return
            if server.zones.delay > 0:
                time.sleep(server.zones.delay)
            sock.sendall(struct.pack("!H", len(reply)) + reply)


def _read_exactly(sock: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        try:
            chunk = sock.recv(count - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data
