"""The DNS seam: nameserver parsing, the per-sweep cache, single-flight and failure memory."""

from __future__ import annotations

import gc
import re
import time
import types

import dns.message
import dns.resolver
import pytest

from checks.dns import DnsError, DnsSettings, DnsSweep, Nameserver, parse_nameserver
from checks.dns_cache import SweepCache
from checks.zoneserver import ZoneServer
from tests.conftest import check, zone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", Nameserver("192.0.2.1", 53)),
        ("127.0.0.1:5353", Nameserver("127.0.0.1", 5353)),
        ("[::1]:5353", Nameserver("::1", 5353)),
        ("[2001:db8::1]", Nameserver("2001:db8::1", 53)),
        ("::1", Nameserver("::1", 53)),
    ],
)
def test_it_parses_nameservers(text: str, expected: Nameserver) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize(
    "text", ["ns.example.com", "1.2.3", "127.0.0.1:0", "127.0.0.1:99999", "[::1", "[::1]x"]
)
def test_it_refuses_bad_nameservers(text: str) -> None:
    with pytest.raises(ValueError, match="nameserver"):
        parse_nameserver(text)


def esp_zone(domains: int) -> str:
    body = 'esp TXT "v=spf1 ip4:198.51.100.0/24 -all"\n'
    for i in range(domains):
        body += f'd{i} TXT "v=spf1 include:esp.example.test -all"\n'
    return zone(body)


def test_a_shared_include_costs_one_lookup_per_sweep(dns_server: ZoneServer) -> None:
    dns_server.set_zone("example.test.", esp_zone(30))
    results = check(dns_server, *(f"d{i}.example.test" for i in range(30)))
    assert all(r.checks["spf"].status == "pass" for r in results)
    assert dns_server.log[("esp.example.test.", "TXT")] == 1
    # each domain's own record is asked for once too, although SPF and DKIM
    # discovery both read it
    assert dns_server.log[("d7.example.test.", "TXT")] == 1


def test_each_sweep_starts_with_an_empty_cache(dns_server: ZoneServer) -> None:
    dns_server.set_zone("example.test.", esp_zone(1))
    check(dns_server, "d0.example.test")
    check(dns_server, "d0.example.test")
    assert dns_server.log[("esp.example.test.", "TXT")] == 2


def test_the_cache_respects_ttls(dns_server: ZoneServer) -> None:
    dns_server.set_zone("example.test.", zone('short TXT "one"', ttl=1))
    sweep = DnsSweep(DnsSettings((parse_nameserver(dns_server.nameserver),)))
    # Time passes when the test says so. An answer expires at the (real) time it came
    # plus its TTL, so the clock starts now: 0.9 s later it is still fresh, 5 s not.
    now = [time.time()]
    sweep.cache = SweepCache(clock=lambda: now[0])
    assert sweep.resolver().lookup_txt("short.example.test") == ["one"]
    dns_server.set_zone("example.test.", zone('short TXT "two"', ttl=1))
    now[0] += 0.9
    assert sweep.resolver().lookup_txt("short.example.test") == ["one"]
    now[0] += 4.1
    assert sweep.resolver().lookup_txt("short.example.test") == ["two"]


def test_a_failed_name_is_not_asked_again_in_the_same_sweep(dns_server: ZoneServer) -> None:
    dns_server.set_zone("example.test.", zone(""))
    dns_server.set_fault("dead.example.test", "timeout")
    sweep = DnsSweep(DnsSettings((parse_nameserver(dns_server.nameserver),), timeout=0.3))
    with pytest.raises(DnsError, match="timeout"):
        sweep.resolver().lookup("dead.example.test", "TXT")
    asked = dns_server.log[("dead.example.test.", "TXT")]
    second = sweep.resolver()
    with pytest.raises(DnsError, match=r"dead\.example\.test TXT: timeout"):
        second.lookup("dead.example.test", "TXT")
    assert dns_server.log[("dead.example.test.", "TXT")] == asked
    assert [f.describe() for f in second.failures] == ["dead.example.test TXT: timeout"]


def test_nxdomain_and_nodata_are_answers_not_failures(dns_server: ZoneServer) -> None:
    dns_server.set_zone("example.test.", zone("host A 192.0.2.1"))
    resolver = DnsSweep(DnsSettings((parse_nameserver(dns_server.nameserver),))).resolver()
    assert resolver.lookup("nothing.example.test", "A") == []
    assert resolver.lookup("host.example.test", "TXT") == []
    assert resolver.failures == []


def test_a_dead_zone_does_not_stop_the_others(dns_server: ZoneServer) -> None:
    dns_server.set_zone("example.test.", esp_zone(2))
    dns_server.set_zone("dead.test.", zone(""))
    dns_server.set_fault("dead.test", "timeout")
    results = check(dns_server, "d0.example.test", "a.dead.test", timeout=0.3)
    assert results[0].checks["spf"].status == "pass"
    assert results[1].status == "error"


def test_a_record_changed_between_sweeps_is_seen_by_the_next(dns_server: ZoneServer) -> None:
    # checkdmarc's own process-wide cache would keep the old record for 30 min
    dns_server.set_zone("example.test.", zone('d TXT "v=spf1 -all"', ttl=3600))
    assert check(dns_server, "d.example.test")[0].checks["spf"].status == "pass"
    dns_server.set_zone("example.test.", zone('d TXT "v=spf1 +all"', ttl=3600))
    assert check(dns_server, "d.example.test")[0].checks["spf"].status == "fail"


def test_a_negative_answer_is_cached_for_the_sweep(dns_server: ZoneServer) -> None:
    dns_server.set_zone("example.test.", zone(""))
    resolver = DnsSweep(DnsSettings((parse_nameserver(dns_server.nameserver),))).resolver()
    assert resolver.lookup("nothing.example.test", "TXT") == []
    assert resolver.lookup("nothing.example.test", "TXT") == []
    assert dns_server.log[("nothing.example.test.", "TXT")] == 1


def test_an_answer_too_big_for_udp_is_fetched_over_tcp(dns_server: ZoneServer) -> None:
    strings = [f"{i:02d}" + "x" * 240 for i in range(12)]
    dns_server.set_zone("example.test.", zone("".join(f'big TXT "{s}"\n' for s in strings)))
    resolver = DnsSweep(DnsSettings((parse_nameserver(dns_server.nameserver),))).resolver()
    assert sorted(resolver.lookup_txt("big.example.test")) == strings
    assert resolver.failures == []
    assert dns_server.tcp_queries == 1


def messages_reachable_from(root: object) -> int:
    """How many dnspython messages ``root`` holds on to, directly or not."""
    stop = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)
    seen: set[int] = set()
    todo = [root]
    found = 0
    while todo:
        item = todo.pop()
        if id(item) in seen or isinstance(item, stop):
            continue
        seen.add(id(item))
        found += isinstance(item, dns.message.Message)
        todo.extend(gc.get_referents(item))
    return found


def test_the_cache_keeps_records_not_response_messages(dns_server: ZoneServer) -> None:
    dns_server.set_zone(
        "example.test.",
        zone('host A 192.0.2.1\nhost TXT "v=spf1 -all"\nalias CNAME host\nmail MX 10 host'),
    )
    sweep = DnsSweep(DnsSettings((parse_nameserver(dns_server.nameserver),)))
    resolver = sweep.resolver()
    asked = [("host", "A"), ("host", "TXT"), ("alias", "A"), ("mail", "MX")]
    first = [resolver.lookup(f"{name}.example.test", rdtype) for name, rdtype in asked]
    with pytest.raises(dns.resolver.NXDOMAIN) as nxdomain:
        resolver.resolve("nothing.example.test", "TXT")
    with pytest.raises(dns.resolver.NoAnswer) as nodata:
        resolver.resolve("host.example.test", "AAAA")
    assert len(sweep.cache) == 6
    assert messages_reachable_from(sweep.cache) == 0
    # From the cache now: the same records, and the same negative answers.
    again = [resolver.lookup(f"{name}.example.test", rdtype) for name, rdtype in asked]
    assert again == first
    assert resolver.resolve("alias.example.test", "A").canonical_name.to_text() == (
        "host.example.test."
    )
    with pytest.raises(dns.resolver.NXDOMAIN, match=re.escape(str(nxdomain.value))):
        resolver.resolve("nothing.example.test", "TXT")
    with pytest.raises(dns.resolver.NoAnswer, match=re.escape(str(nodata.value))):
        resolver.resolve("host.example.test", "AAAA")
    assert dns_server.log[("nothing.example.test.", "TXT")] == 1
    assert dns_server.log[("host.example.test.", "AAAA")] == 1


def test_a_silent_nameserver_costs_the_timeout_once_per_try(dns_server: ZoneServer) -> None:
    dns_server.set_zone("example.test.", zone(""))
    dns_server.set_fault("dead.example.test", "timeout")
    settings = DnsSettings((parse_nameserver(dns_server.nameserver),), timeout=0.3, retries=1)
    resolver = DnsSweep(settings).resolver()
    started = time.monotonic()
    with pytest.raises(DnsError, match="timeout"):
        resolver.lookup("dead.example.test", "TXT")
    # Two tries of 0.3 s each (the wait of one counts from its query's send).
    assert 0.6 <= time.monotonic() - started < 1.5
    assert dns_server.log[("dead.example.test.", "TXT")] == 2
