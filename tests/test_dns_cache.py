"""The sweep cache: positive answers until their TTL, negative ones for the RFC 2308 TTL."""

from __future__ import annotations

import gc
import weakref

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset
import pytest

from checks.dns_cache import CachedAnswer, SweepCache, cache_key, negative_ttl

QNAME = dns.name.from_text("www.example.com")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def nodata(ttl: int = 300, minimum: int = 60) -> dns.message.Message:
    response = dns.message.make_response(dns.message.make_query(QNAME, "TXT"))
    soa = f"ns.example.com. h.example.com. 1 3600 600 86400 {minimum}"
    response.authority.append(dns.rrset.from_text("example.com.", ttl, "IN", "SOA", soa))
    return response


def txt_answer(
    ttl: int, now: float, response: dns.message.Message | None = None
) -> dns.resolver.Answer:
    response = response or dns.message.make_response(dns.message.make_query(QNAME, "TXT"))
    assert isinstance(response, dns.message.QueryMessage)
    rrset = response.find_rrset(
        response.answer, QNAME, dns.rdataclass.IN, dns.rdatatype.TXT, create=True
    )
    rrset.update(dns.rrset.from_text(QNAME, ttl, "IN", "TXT", '"v=spf1 -all"'))
    answer = dns.resolver.Answer(QNAME, dns.rdatatype.TXT, dns.rdataclass.IN, response)
    answer.expiration = now + ttl
    return answer


def test_keys_ignore_case_and_the_root_dot() -> None:
    assert cache_key("WWW.Example.com.", 16) == cache_key("www.example.com", 16)


def test_a_positive_answer_is_kept_until_its_ttl_runs_out() -> None:
    clock = Clock()
    cache = SweepCache(clock)
    key = ("www.example.com", 16)
    answer = CachedAnswer.of(txt_answer(ttl=30, now=clock.now))
    cache.put(key, answer)
    assert cache.get(key) is answer
    assert [rdata.to_text() for rdata in answer] == ['"v=spf1 -all"']
    clock.now += 31
    assert cache.get(key) is None


def test_the_negative_ttl_is_the_smaller_of_soa_ttl_and_minimum() -> None:
    assert negative_ttl(nodata(ttl=300, minimum=60)) == 60
    assert negative_ttl(nodata(ttl=30, minimum=60)) == 30


def test_a_negative_answer_without_soa_is_not_cached() -> None:
    response = dns.message.make_response(dns.message.make_query(QNAME, "TXT"))
    assert negative_ttl(response) is None
    cache = SweepCache()
    cache.put_negative(("www.example.com", 16), dns.resolver.NoAnswer(response=response))
    assert cache.get(("www.example.com", 16)) is None


def test_a_cached_nodata_is_raised_again_until_it_expires() -> None:
    clock = Clock()
    cache = SweepCache(clock)
    key = ("www.example.com", 16)
    cache.put_negative(key, dns.resolver.NoAnswer(response=nodata(minimum=60)))
    with pytest.raises(dns.resolver.NoAnswer):
        cache.get(key)
    clock.now += 61
    assert cache.get(key) is None


def test_a_cached_nxdomain_is_raised_again() -> None:
    response = nodata()
    response.set_rcode(dns.rcode.NXDOMAIN)
    cache = SweepCache()
    key = ("www.example.com", 16)
    cache.put_negative(key, dns.resolver.NXDOMAIN(qnames=[QNAME], responses={QNAME: response}))
    with pytest.raises(dns.resolver.NXDOMAIN):
        cache.get(key)


def test_a_stored_answer_keeps_the_records_but_not_the_response() -> None:
    response = dns.message.make_response(dns.message.make_query(QNAME, "TXT"))
    answer = txt_answer(ttl=30, now=1_000.0, response=response)
    gone = weakref.ref(response)
    cache = SweepCache(Clock())
    key = ("www.example.com", 16)
    cache.put(key, CachedAnswer.of(answer))
    del answer, response
    gc.collect()
    assert gone() is None
    kept = cache.get(key)
    assert kept is not None
    assert kept.rrset == dns.rrset.from_text(QNAME, 30, "IN", "TXT", '"v=spf1 -all"')
    assert kept.canonical_name == QNAME


@pytest.mark.parametrize("rcode", [dns.rcode.NOERROR, dns.rcode.NXDOMAIN])
def test_a_stored_negative_answer_drops_the_response_and_says_the_same(rcode: int) -> None:
    response = nodata()
    response.set_rcode(dns.rcode.Rcode(rcode))
    error: dns.resolver.NXDOMAIN | dns.resolver.NoAnswer
    if rcode == dns.rcode.NXDOMAIN:
        error = dns.resolver.NXDOMAIN(qnames=[QNAME], responses={QNAME: response})
    else:
        error = dns.resolver.NoAnswer(response=response)
    kind, said = type(error), str(error)
    gone = weakref.ref(response)
    cache = SweepCache()
    key = ("www.example.com", 16)
    cache.put_negative(key, error)
    del error, response
    gc.collect()
    assert gone() is None
    with pytest.raises(kind) as raised:
        cache.get(key)
    assert type(raised.value) is kind
    assert str(raised.value) == said
