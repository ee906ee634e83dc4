"""The probes' own exchange: tries, failover between nameservers, errors that carry their reason."""

from __future__ import annotations

import gc
import os
import time
import warnings

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
import pytest

from checks.dns import DnsError, DnsSettings, DnsSweep, parse_nameserver
from checks.dns_exchange import UdpSockets, exchange, matches_query, query_wire
from checks.sweep import check_targets
from checks.targets import parse_target
from checks.zoneserver import ZoneServer
from tests.conftest import zone
from tests.servers import free_port

NAME = dns.name.from_text("shop.example.test")
UPPER = dns.name.from_text("SHOP.Example.TEST")
OTHER = dns.name.from_text("shop.example.tesu")
TXT = int(dns.rdatatype.TXT)


def test_a_nameserver_answering_servfail_gives_way_to_the_next() -> None:
    with ZoneServer() as broken, ZoneServer() as good:
        broken.set_fault("example.test", "servfail")
        good.set_zone("example.test.", zone('shop TXT "v=spf1 -all"'))
        servers = [("127.0.0.1", broken.port), ("127.0.0.1", good.port)]
        reply = exchange(NAME, TXT, servers, timeout=1, lifetime=2)
        assert reply.rdatas[0].to_text() == '"v=spf1 -all"'
        # Asked once each: a server that said SERVFAIL is not asked again.
        assert broken.queries == 1 and good.queries == 1


def test_every_nameserver_failing_says_why() -> None:
    with ZoneServer() as broken:
        broken.set_fault("example.test", "refused")
        settings = DnsSettings((parse_nameserver(broken.nameserver),), timeout=1)
        with pytest.raises(DnsError, match=r"shop\.example\.test TXT: REFUSED"):
            DnsSweep(settings).resolver().lookup("shop.example.test", "TXT")


def test_a_closed_port_is_an_error_at_once_not_a_wait() -> None:
    started = time.monotonic()
    with pytest.raises(dns.resolver.NoNameservers):
        exchange(NAME, TXT, [("127.0.0.1", free_port())], timeout=5, lifetime=10)
    assert time.monotonic() - started < 5  # one try would have waited 5 s


def test_a_probe_resolver_refuses_arguments_it_would_drop() -> None:
    resolver = DnsSweep(DnsSettings((parse_nameserver("127.0.0.1:9"),))).resolver()
    with pytest.raises(TypeError, match="unsupported"):
        resolver.resolve("shop.example.test", "TXT", tcp=True)


def test_a_query_is_the_bytes_dnspython_renders() -> None:
    for name, rdtype in ((NAME, TXT), (dns.name.from_text("_dmarc.Shop.example.test"), 5)):
        query = dns.message.make_query(name, dns.rdatatype.RdataType(rdtype))
        query.id = 0xBEEF
        assert query_wire(0xBEEF, name, rdtype) == query.to_wire()


def test_a_reply_matches_its_query_by_id_question_and_flags() -> None:
    query = query_wire(0xBEEF, NAME, TXT)
    reply = dns.message.make_response(dns.message.from_wire(query))
    assert matches_query(reply.to_wire(), query)
    shouting = dns.message.make_response(dns.message.from_wire(query_wire(0xBEEF, UPPER, TXT)))
    assert matches_query(shouting.to_wire(), query)
    for other in (
        query_wire(0xBEEE, NAME, TXT),
        query_wire(0xBEEF, NAME, 5),
        query_wire(0xBEEF, OTHER, TXT),
    ):
        assert not matches_query(
            dns.message.make_response(dns.message.from_wire(other)).to_wire(), query
        )
    assert not matches_query(query, query)  # not a reply: QR is clear
    # A SERVFAIL without the question is still the reply to it; a NOERROR is not.
    bare = dns.message.Message(id=0xBEEF)
    bare.flags = dns.flags.QR | dns.flags.RD
    assert not matches_query(bare.to_wire(), query)
    bare.set_rcode(dns.rcode.SERVFAIL)
    assert matches_query(bare.to_wire(), query)


def test_query_ids_are_drawn_again_in_a_forked_child() -> None:
    """A child forked after the parent drew ids starts with none of them: it draws its own."""
    from checks import dns_exchange

    dns_exchange._next_query_id()
    parents = list(dns_exchange._QUERY_IDS.ids)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read)
        os.write(write, bytes([len(dns_exchange._QUERY_IDS.ids)]))
        os._exit(0)
    os.close(write)
    left_in_child = os.read(read, 1)[0]
    os.close(read)
    os.waitpid(child, 0)
    assert parents
    assert left_in_child == 0
    assert dns_exchange._QUERY_IDS.ids == parents


def test_a_threads_sockets_are_reused_for_a_bounded_number_of_queries() -> None:
    """One socket per nameserver carries at most MAX_USES queries, then a new port is used."""
    uses = UdpSockets.MAX_USES
    with ZoneServer() as server:
        server.set_zone("example.test.", zone('shop TXT "v=spf1 -all"'))
        sockets = UdpSockets()
        try:
            for _ in range(2 * uses + 1):
                exchange(NAME, TXT, [("127.0.0.1", server.port)], 1, 2, sockets)
        finally:
            sockets.close()
        assert sorted(server.udp_peers.values()) == [1, uses, uses]


def test_a_socket_whose_query_went_unanswered_is_not_used_again() -> None:
    with ZoneServer() as server:
        server.set_zone("example.test.", zone('shop TXT "v=spf1 -all"'))
        server.set_fault("silent.example.test", "timeout")
        servers = [("127.0.0.1", server.port)]
        sockets = UdpSockets()
        try:
            exchange(NAME, TXT, servers, 1, 2, sockets)
            with pytest.raises(dns.resolver.LifetimeTimeout):
                exchange(dns.name.from_text("silent.example.test"), TXT, servers, 0.2, 0.2, sockets)
            exchange(NAME, TXT, servers, 1, 2, sockets)
        finally:
            sockets.close()
        # The first socket asked twice (the second query went unanswered); the third
        # query came from a new one.
        assert sorted(server.udp_peers.values()) == [1, 2]


def test_a_sweep_closes_the_sockets_of_its_threads() -> None:
    """Closed, not left to the garbage collector (which would warn of each)."""
    with ZoneServer() as server:
        server.set_zone(
            "example.test.", zone('shop TXT "v=spf1 -all"\nshop MX 10 mx\nmx A 192.0.2.1')
        )
        settings = DnsSettings((parse_nameserver(server.nameserver),), timeout=1)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            results = check_targets(
                [parse_target("shop.example.test", ())] * 3, settings, concurrency=4
            )
            gc.collect()
        assert [r.target for r in results] == ["shop.example.test"] * 3
        assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
        # Four threads with a socket each: far fewer sockets than the queries they sent.
        assert len(server.udp_peers) <= 4 < server.queries
