"""Blocklists: verdicts on literal answers, and sweeps against real zones on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from checks.blocklist_catalogue import (
    CatalogueError,
    custom_zone,
    load_catalogue,
    parse_catalogue,
    select_zones,
)
from checks.blocklists import BlocklistPlan, evaluate_health, read_answer
from checks.dns import DnsFailure, DnsSettings, parse_nameserver
from checks.dns_bulk import BulkAnswer, BulkResolver, reverse_address
from checks.rate_limit import RateLimiter
from checks.results import BlocklistResult
from checks.sweep import check_targets
from checks.targets import parse_target
from checks.zoneserver import ZoneServer
from tests.conftest import check_of, postwarden, zone

CATALOGUE = load_catalogue()
ZEN = CATALOGUE["spamhaus-zen"]
SURBL = CATALOGUE["surbl-multi"]
PLAIN = custom_zone("bl.example.test", "ip")


def answer(*records: str, name: str = "x.bl.example.test") -> BulkAnswer:
    return BulkAnswer(name, 1, records=records, nxdomain=not records)


def codes(result) -> list[str]:
    return [f.code for f in result.findings]


# -- reading answers (pure) -----------------------------------------------------


def test_nxdomain_is_not_listed() -> None:
    assert read_answer(PLAIN, answer()).state == "clear"


def test_an_answer_in_127_8_is_a_listing_with_its_meaning() -> None:
    verdict = read_answer(ZEN, answer("127.0.0.4", "127.0.0.2"))
    assert verdict.state == "listed"
    assert verdict.codes == ("127.0.0.2", "127.0.0.4")
    assert verdict.meanings[0].startswith("SBL")
    assert verdict.meanings[1].startswith("XBL")


@pytest.mark.parametrize("code", ["127.255.255.252", "127.255.255.254", "127.255.255.255"])
def test_spamhaus_error_codes_are_errors_never_listings(code: str) -> None:
    verdict = read_answer(ZEN, answer(code))
    assert verdict.state == "error"
    assert verdict.problem is not None and verdict.problem.code == "DNSBL_QUERY_REFUSED"


def test_dbl_refuses_ip_queries_with_its_own_code() -> None:
    verdict = read_answer(CATALOGUE["spamhaus-dbl"], answer("127.0.1.255"))
    assert (verdict.state, verdict.problem and verdict.problem.code) == (
        "error",
        "DNSBL_QUERY_REFUSED",
    )


def test_an_answer_outside_127_8_is_an_error() -> None:
    verdict = read_answer(PLAIN, answer("192.0.2.1"))
    assert verdict.state == "error"
    assert verdict.problem is not None and verdict.problem.code == "DNSBL_BAD_ANSWER"


def test_a_failed_lookup_is_an_error() -> None:
    failed = BulkAnswer("x.bl", 1, failure=DnsFailure("x.bl", "A", "timeout"))
    verdict = read_answer(PLAIN, failed)
    assert verdict.state == "error"
    assert verdict.problem is not None and "timeout" in verdict.problem.message


def test_bitmask_answers_are_decoded_bit_by_bit() -> None:
    verdict = read_answer(SURBL, answer("127.0.0.24"))
    assert verdict.state == "listed"
    assert [m.split(":")[0] for m in verdict.meanings] == ["PH", "MW"]


def test_surbl_bit_1_is_a_refusal() -> None:
    assert read_answer(SURBL, answer("127.0.0.1")).state == "error"


def test_whitelist_answers_are_not_listings() -> None:
    verdict = read_answer(CATALOGUE["hostkarma"], answer("127.0.0.1"))
    assert verdict.state == "clear"
    assert "WHITELIST" in verdict.meanings[0]


def test_the_test_points_decide_a_zones_health() -> None:
    good = evaluate_health(PLAIN, answer("127.0.0.2"), answer())
    assert good.usable
    everything = evaluate_health(PLAIN, answer("127.0.0.2"), answer("127.0.0.2"))
    assert (everything.usable, everything.unhealthy) == (False, True)
    assert everything.problem is not None and "lists everything" in everything.problem.message
    nothing = evaluate_health(PLAIN, answer(), answer())
    assert (nothing.usable, nothing.unhealthy) == (False, True)
    refused = evaluate_health(ZEN, answer("127.255.255.254"), answer("127.255.255.254"))
    assert (refused.usable, refused.unhealthy) == (False, False)
    assert refused.problem is not None and refused.problem.code == "DNSBL_QUERY_REFUSED"


@pytest.mark.parametrize(
    ("address", "prefix"),
    [
        ("192.0.2.10", "10.2.0.192"),
        ("2001:db8::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"),
    ],
)
def test_addresses_are_reversed_per_rfc_5782(address: str, prefix: str) -> None:
    assert reverse_address(address) == prefix


# -- the catalogue ----------------------------------------------------------------


def test_the_defaults_skip_defunct_and_keyed_lists() -> None:
    defaults = select_zones(CATALOGUE, "ip")
    zones = {z.zone for z in defaults}
    assert "zen.spamhaus.org" in zones
    assert "dnsbl.sorbs.net" not in zones
    assert all(not z.key_required and not z.defunct for z in defaults)
    assert {z.zone for z in select_zones(CATALOGUE, "domain")} >= {"dbl.spamhaus.org"}


def test_a_key_swaps_in_the_keyed_zone() -> None:
    (zen,) = select_zones(CATALOGUE, "ip", ["spamhaus-zen"], {"spamhaus": "k3y"})
    assert (zen.zone, zen.public_zone) == ("k3y.zen.dq.spamhaus.net", "zen.spamhaus.org")


@pytest.mark.parametrize(
    ("kind", "name", "message"),
    [
        ("ip", "dnsbl.sorbs.net", "defunct"),
        ("ip", "abusix-combined", "only be queried with a key"),
        ("ip", "dbl.spamhaus.org", "--domain-zone"),
    ],
)
def test_zones_that_must_not_be_asked_are_refused(kind: str, name: str, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        select_zones(CATALOGUE, kind, [name])  # type: ignore[arg-type]


def test_a_bad_catalogue_names_the_file_and_zone() -> None:
    with pytest.raises(CatalogueError, match=r"extra\.toml: zone 'x': unknown key 'colour'"):
        parse_catalogue(
            '[[zone]]\nid = "x"\nzone = "x.test"\nkind = "ip"\ncolour = "red"\n', "extra.toml"
        )


def test_the_rate_limiter_spreads_acquisitions() -> None:
    async def times() -> list[float]:
        limiter, loop, seen = RateLimiter(100), asyncio.get_running_loop(), []
        for _ in range(5):
            await limiter.acquire()
            seen.append(loop.time())
        return seen

    seen = asyncio.run(times())
    # Slots are reserved 10 ms apart, so the fifth acquisition comes 40 ms after the first
    # at the earliest. (Each gap alone is no invariant: a caller woken late by a busy
    # machine finds the next slot already due.)
    assert seen[-1] - seen[0] >= 4 * 0.01 - 0.001


# -- sweeps over real DNS -----------------------------------------------------------

LISTS = {
    "bl.example.test.": zone(
        """
2.0.0.127         A   127.0.0.2
10.2.0.192        A   127.0.0.2
10.2.0.192        TXT "Listed: hit our spam traps"
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2 A 127.0.0.3
"""
    ),
    "zen.spamhaus.org.": zone(
        """
2.0.0.127   A   127.0.0.2
11.2.0.192  A   127.0.0.2
11.2.0.192  A   127.0.0.4
11.2.0.192  TXT "https://check.spamhaus.org/sbl/query/SBL1"
12.2.0.192  A   127.255.255.254
"""
    ),
    "low.example.test.": zone("2.0.0.127 A 127.0.0.2\n13.2.0.192 A 127.0.0.2\n"),
    "everything.example.test.": zone("* A 127.0.0.2"),
    "nothing.example.test.": zone(""),
    "slow.example.test.": zone("2.0.0.127 A 127.0.0.2"),
    "dbl.example.test.": zone(
        'test A 127.0.0.2\nspammy.example A 127.0.0.2\nspammy.example TXT "phishing kit"\n'
    ),
}


@pytest.fixture
def lists(dns_server: ZoneServer) -> ZoneServer:
    for origin, text in LISTS.items():
        dns_server.set_zone(origin, text)
    dns_server.set_fault("slow.example.test", "timeout")
    return dns_server


def sweep(
    server: ZoneServer,
    *targets: str,
    zones: Sequence[str] = ("bl.example.test",),
    domain_zones: Sequence[str] = (),
) -> list[BlocklistResult]:
    plan = BlocklistPlan(
        ip_zones=select_zones(CATALOGUE, "ip", list(zones)),
        domain_zones=select_zones(CATALOGUE, "domain", list(domain_zones)),
    )
    settings = DnsSettings((parse_nameserver(server.nameserver),), timeout=0.5, retries=0)
    results = check_targets([parse_target(t) for t in targets], settings, blocklists=plan)
    return [check_of(r, "blocklists", BlocklistResult) for r in results]


def test_a_listed_ipv4_fails_with_the_lists_reason(lists: ZoneServer) -> None:
    listed, clean = sweep(lists, "192.0.2.10", "192.0.2.99")
    assert (listed.status, codes(listed)) == ("fail", ["DNSBL_LISTED"])
    (listing,) = listed.listings
    assert (listing.listed, listing.codes, listing.reason) == (
        True,
        ("127.0.0.2",),
        "Listed: hit our spam traps",
    )
    assert "hit our spam traps" in listed.findings[0].message
    assert (clean.status, clean.listings[0].listed) == ("pass", False)


def test_ipv6_addresses_are_looked_up_by_nibbles(lists: ZoneServer) -> None:
    listed, clean = sweep(lists, "2001:db8::1", "2001:db8::2")
    assert (listed.status, listed.listings[0].codes) == ("fail", ("127.0.0.3",))
    assert clean.status == "pass"


def test_a_listed_domain_fails(lists: ZoneServer) -> None:
    listed, clean = sweep(
        lists, "spammy.example", "clean.example", zones=(), domain_zones=("dbl.example.test",)
    )
    assert (listed.status, listed.listings[0].reason) == ("fail", "phishing kit")
    assert clean.status == "pass"


def test_several_codes_each_get_their_meaning(lists: ZoneServer) -> None:
    (result,) = sweep(lists, "192.0.2.11", zones=("zen.spamhaus.org",))
    (listing,) = result.listings
    assert listing.codes == ("127.0.0.2", "127.0.0.4")
    assert [m[:3] for m in listing.meanings] == ["SBL", "XBL"]
    assert listing.reason == "https://check.spamhaus.org/sbl/query/SBL1"
    assert listing.delist_url == "https://check.spamhaus.org/"


def test_an_error_code_is_an_error_and_never_a_listing(lists: ZoneServer) -> None:
    (result,) = sweep(lists, "192.0.2.12", zones=("zen.spamhaus.org",))
    assert (result.status, codes(result)) == ("error", ["DNSBL_QUERY_REFUSED"])
    assert result.listings[0].listed is None
    assert "public" in result.findings[0].message


def test_a_zone_that_lists_everything_is_ignored(lists: ZoneServer) -> None:
    (result,) = sweep(lists, "192.0.2.99", zones=("bl.example.test", "everything.example.test"))
    assert result.unhealthy_zones == ("everything.example.test",)
    assert result.status == "error"
    assert "DNSBL_LISTED" not in codes(result)
    by_zone = {listing.zone: listing for listing in result.listings}
    assert by_zone["everything.example.test"].listed is None
    assert by_zone["bl.example.test"].listed is False
    # its answers are not even asked for once it failed its test points
    assert lists.log[("99.2.0.192.everything.example.test.", "A")] == 0


def test_a_zone_that_lists_nothing_is_unhealthy(lists: ZoneServer) -> None:
    (result,) = sweep(lists, "192.0.2.10", zones=("nothing.example.test",))
    assert result.unhealthy_zones == ("nothing.example.test",)
    assert codes(result) == ["DNSBL_ZONE_UNHEALTHY"]


def test_a_zone_that_times_out_is_error_and_the_others_still_answer(lists: ZoneServer) -> None:
    (result,) = sweep(lists, "192.0.2.10", zones=("bl.example.test", "slow.example.test"))
    assert result.status == "fail"  # the listing outranks the undeterminable zone
    by_zone = {listing.zone: listing for listing in result.listings}
    assert by_zone["bl.example.test"].listed is True
    assert (by_zone["slow.example.test"].listed, by_zone["slow.example.test"].state) == (
        None,
        "error",
    )
    assert "DNS_LOOKUP_FAILED" in codes(result)
    assert result.unhealthy_zones == ()


def test_a_low_impact_list_warns(lists: ZoneServer, tmp_path: Path) -> None:
    extra = tmp_path / "extra.toml"
    extra.write_text(
        '[[zone]]\nid = "low"\nzone = "low.example.test"\nkind = "ip"\nimpact = "low"\n'
    )
    catalogue = load_catalogue([extra])
    plan = BlocklistPlan(ip_zones=select_zones(catalogue, "ip", ["low"]))
    settings = DnsSettings((parse_nameserver(lists.nameserver),), timeout=0.5, retries=0)
    (target,) = check_targets([parse_target("192.0.2.13")], settings, blocklists=plan)
    result = check_of(target, "blocklists", BlocklistResult)
    assert (result.status, codes(result)) == ("warn", ["DNSBL_LISTED_LOW_IMPACT"])


def test_a_spamhaus_key_queries_the_dqs_zone(dns_server: ZoneServer) -> None:
    dns_server.set_zone(
        "k3y.zen.dq.spamhaus.net.", zone("2.0.0.127 A 127.0.0.2\n10.2.0.192 A 127.0.0.10")
    )
    plan = BlocklistPlan(
        ip_zones=select_zones(CATALOGUE, "ip", ["zen.spamhaus.org"], {"spamhaus": "k3y"})
    )
    settings = DnsSettings((parse_nameserver(dns_server.nameserver),), timeout=0.5, retries=0)
    (target,) = check_targets([parse_target("192.0.2.10")], settings, blocklists=plan)
    listing = check_of(target, "blocklists", BlocklistResult).listings[0]
    assert (listing.zone, listing.listed) == ("k3y.zen.dq.spamhaus.net", True)
    assert "PBL" in listing.meanings[0]


# -- the bulk resolver ----------------------------------------------------------------


def bulk(server: ZoneServer, *lookups: tuple[str, int], timeout: float = 0.5) -> list[BulkAnswer]:
    async def run() -> list[BulkAnswer]:
        settings = DnsSettings((parse_nameserver(server.nameserver),), timeout=timeout, retries=0)
        async with BulkResolver(settings) as resolver:
            return list(await asyncio.gather(*(resolver.lookup(n, t) for n, t in lookups)))

    return asyncio.run(run())


def test_bulk_lookups_tell_answers_nodata_nxdomain_and_failures(dns_server: ZoneServer) -> None:
    dns_server.set_zone("example.test.", zone('a A 192.0.2.1\na TXT "one" "two"\nbad A 192.0.2.2'))
    dns_server.set_fault("bad.example.test", "servfail")
    found, texts, nodata, missing, failed = bulk(
        dns_server,
        ("a.example.test", 1),
        ("a.example.test", 16),
        ("a.example.test", 28),
        ("nope.example.test", 1),
        ("bad.example.test", 1),
    )
    assert (found.records, found.ttl) == (("192.0.2.1",), 300)
    assert texts.records == ("onetwo",)
    assert (nodata.records, nodata.nxdomain, nodata.failure) == ((), False, None)
    assert (missing.records, missing.nxdomain) == ((), True)
    assert failed.failure is not None and failed.failure.reason == "SERVFAIL"


def test_a_bulk_answer_too_big_for_udp_comes_over_tcp(dns_server: ZoneServer) -> None:
    strings = [f"{i:02d}" + "y" * 240 for i in range(12)]
    dns_server.set_zone("example.test.", zone("".join(f'big TXT "{s}"\n' for s in strings)))
    (big,) = bulk(dns_server, ("big.example.test", 16))
    assert sorted(big.records) == strings
    assert dns_server.tcp_queries == 1


def test_a_bulk_timeout_is_a_failure(dns_server: ZoneServer) -> None:
    dns_server.set_zone("example.test.", zone(""))
    dns_server.set_fault("dead.example.test", "timeout")
    (dead,) = bulk(dns_server, ("dead.example.test", 1), timeout=0.2)
    assert dead.failure is not None and dead.failure.reason == "timeout"


def test_bulk_lookups_work_over_ipv6() -> None:
    with ZoneServer({"example.test.": zone("a A 192.0.2.1")}, host="::1") as server:
        (found,) = bulk(server, ("a.example.test", 1))
    assert found.records == ("192.0.2.1",)


# -- the command line -----------------------------------------------------------------


def run(server: ZoneServer, *args: str):
    return postwarden(
        "check", *args, "--nameserver", server.nameserver, "--timeout", "0.5", "--retries", "0"
    )


def test_the_cli_reports_each_case_in_json(lists: ZoneServer) -> None:
    result = run(
        lists,
        "192.0.2.10",
        "192.0.2.12",
        "spammy.example",
        "--zone",
        "bl.example.test",
        "--zone",
        "zen.spamhaus.org",
        "--zone",
        "everything.example.test",
        "--domain-zone",
        "dbl.example.test",
        "--format",
        "json",
    )
    assert result.code == 2, result.stderr
    by_target = {t["target"]: t["checks"]["blocklists"] for t in result.json()}
    listed = by_target["192.0.2.10"]
    assert listed["status"] == "fail"
    assert listed["unhealthy_zones"] == ["everything.example.test"]
    states = {entry["zone"]: (entry["listed"], entry["state"]) for entry in listed["listings"]}
    assert states == {
        "bl.example.test": (True, "listed"),
        "zen.spamhaus.org": (False, "clear"),
        "everything.example.test": (None, "unhealthy"),
    }
    refused = {e["zone"]: e for e in by_target["192.0.2.12"]["listings"]}["zen.spamhaus.org"]
    assert (refused["listed"], refused["state"], refused["codes"]) == (
        None,
        "error",
        ["127.255.255.254"],
    )
    assert by_target["spammy.example"]["listings"][0]["reason"] == "phishing kit"


def test_naming_a_defunct_list_is_refused_in_one_line() -> None:
    result = postwarden("check", "192.0.2.1", "--zone", "dnsbl.sorbs.net")
    assert result.code == 3
    assert result.stderr.startswith("postwarden: blocklist error: dnsbl.sorbs.net is defunct")
    assert len(result.stderr.strip().splitlines()) == 1


def test_saved_runs_record_when_a_listing_began_and_ended(
    lists: ZoneServer, database_url: str
) -> None:
    args = ("192.0.2.10", "--zone", "bl.example.test", "--save", "--db", database_url, "--fresh")
    listed = run(lists, *args, "--format", "json").json()[0]["checks"]["blocklists"]
    assert listed["status"] == "fail"
    # the list drops the address; the next saved run closes the episode
    lists.set_zone("bl.example.test.", zone("2.0.0.127 A 127.0.0.2"))
    clear = run(lists, *args, "--format", "json").json()[0]["checks"]["blocklists"]
    assert clear["status"] == "pass"
    shown = postwarden("listings", "--db", database_url, "--format", "json")
    (episode,) = shown.json()
    assert (episode["target"], episode["zone"], episode["codes"]) == (
        "192.0.2.10",
        "bl.example.test",
        ["127.0.0.2"],
    )
    assert episode["delisted_at"] is not None
    assert episode["duration_seconds"] >= 0
    assert postwarden("listings", "--db", database_url, "--open", "--format", "json").json() == []


def test_saved_runs_do_not_ask_again_within_the_recheck_interval(
    lists: ZoneServer, database_url: str
) -> None:
    args = ("192.0.2.10", "--zone", "bl.example.test", "--save", "--db", database_url)
    first = run(lists, *args, "--format", "json")
    asked = lists.log[("10.2.0.192.bl.example.test.", "A")]
    second = run(lists, *args, "--format", "json")
    assert lists.log[("10.2.0.192.bl.example.test.", "A")] == asked
    (listing,) = second.json()[0]["checks"]["blocklists"]["listings"]
    assert listing["cached_at"] is not None and listing["listed"] is True
    assert second.code == first.code == 2
    run(lists, *args, "--fresh")
    assert lists.log[("10.2.0.192.bl.example.test.", "A")] == asked + 1


def test_listings_says_when_nothing_was_recorded(database_url: str) -> None:
    result = postwarden("listings", "--db", database_url)
    assert (result.code, result.stdout.strip()) == (0, "No listings recorded.")


def test_json_of_listings_is_an_array(database_url: str) -> None:
    assert json.loads(postwarden("listings", "--db", database_url, "--format", "json").stdout) == []
