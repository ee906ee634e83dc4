"""DNS blocklists (RFC 5782) for sending IPs and domains, without crying wolf.

A sweep first asks every zone for its RFC 5782 test points: the zone must
list ``127.0.0.2`` (domains: ``test``) and must not list ``127.0.0.1``
(``invalid``). A zone that lists everything (a dead list whose domain now
answers every name) or nothing (a dead list, or one refusing our resolver)
is *unhealthy*: it is not asked about any target and every target reports it
in ``unhealthy_zones`` with a finding. A zone that answers its test point
with one of its error codes (Spamhaus: 127.255.255.254 for queries through
a public resolver) refused us: that is ``error``, never ``listed``.

Then each target is looked up in each usable zone: NXDOMAIN is not listed;
an answer in 127.0.0.0/8 that is not one of the zone's error codes is a
listing, whose meaning comes from the catalogue and whose reason from the
zone's TXT record; an answer outside 127.0.0.0/8 is an error (a hijacked
list domain or a resolver rewriting NXDOMAIN). ``read_answer`` and
``evaluate_health`` are pure; ``stream_blocklists`` does the I/O.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from checks.blocklist_catalogue import BlocklistZone
from checks.dns_bulk import TXT, A, BulkAnswer, BulkResolver, reverse_address
from checks.dns_settings import DnsSettings
from checks.findings import Finding, finding
from checks.rate_limit import Limiter, RateLimiter
from checks.results import BlocklistResult, Listing
from checks.targets import Target

_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
# Targets in flight; each asks all its zones at once, within the resolver's own limit.
DEFAULT_WINDOW = 64


@dataclass(frozen=True)
class Verdict:
    """What one answer of one zone says about one name."""

    state: Literal["listed", "clear", "error"]
    codes: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()
    problem: Finding | None = None


def label(zone: BlocklistZone) -> str:
    """How a zone is named in messages: its name, and its zone when that differs."""
    return zone.zone if zone.name == zone.zone else f"{zone.name} ({zone.zone})"


def _meanings(zone: BlocklistZone, code: str) -> list[str]:
    if not zone.bitmask:
        return [zone.codes.get(code, f"{code}: listed (code not documented by the list)")]
    last = int(code.rsplit(".", 1)[1])
    bits = [meaning for bit, meaning in zone.codes.items() if last & int(bit.rsplit(".", 1)[1])]
    return bits or [f"{code}: listed (bits not documented by the list)"]


def _low_impact(zone: BlocklistZone, codes: Sequence[str]) -> bool:
    if zone.impact == "low":
        return True
    if not zone.informational_codes:
        return False
    if not zone.bitmask:
        return all(code in zone.informational_codes for code in codes)
    informational = sum(int(c.rsplit(".", 1)[1]) for c in zone.informational_codes)
    return all(int(code.rsplit(".", 1)[1]) & ~informational == 0 for code in codes)


def read_answer(zone: BlocklistZone, answer: BulkAnswer) -> Verdict:
    """Read the A answer of ``zone`` for one name (pure)."""
    if answer.failure is not None:
        return Verdict(
            "error",
            problem=finding(
                "DNS_LOOKUP_FAILED",
                f"Could not ask {label(zone)}: {answer.failure.describe()}.",
            ),
        )
    addresses = sorted(set(answer.records), key=ipaddress.ip_address)
    if not addresses:
        return Verdict("clear")
    outside = [a for a in addresses if ipaddress.ip_address(a) not in _LOOPBACK]
    if outside:
        return Verdict(
            "error",
            codes=tuple(addresses),
            problem=finding(
                "DNSBL_BAD_ANSWER",
                f"{zone.zone} answered {', '.join(outside)} for {answer.name}, outside "
                "127.0.0.0/8: no blocklist answers that way.",
            ),
        )
    refusals = [a for a in addresses if a in zone.errors]
    if refusals:
        meaning = "; ".join(f"{a} ({zone.errors[a]})" for a in refusals)
        return Verdict(
            "error",
            codes=tuple(refusals),
            problem=finding("DNSBL_QUERY_REFUSED", f"{label(zone)} answered {meaning}."),
        )
    listed = [a for a in addresses if a not in zone.info]
    if not listed:
        return Verdict(
            "clear", codes=tuple(addresses), meanings=tuple(zone.info[a] for a in addresses)
        )
    meanings = [m for code in listed for m in _meanings(zone, code)]
    return Verdict("listed", codes=tuple(listed), meanings=tuple(dict.fromkeys(meanings)))


@dataclass(frozen=True)
class ZoneHealth:
    """Whether a zone may be asked in this sweep, and what to say if not."""

    zone: BlocklistZone
    usable: bool
    unhealthy: bool = False
    problem: Finding | None = None


def evaluate_health(zone: BlocklistZone, listed: BulkAnswer, unlisted: BulkAnswer) -> ZoneHealth:
    """Judge a zone by its RFC 5782 test points (pure)."""
    positive, negative = read_answer(zone, listed), read_answer(zone, unlisted)
    for verdict in (positive, negative):
        if verdict.state == "error" and verdict.problem is not None:
            if verdict.problem.code == "DNSBL_BAD_ANSWER":
                return ZoneHealth(
                    zone,
                    usable=False,
                    unhealthy=True,
                    problem=_unhealthy(
                        zone, f"it answers outside 127.0.0.0/8 ({verdict.problem.message})"
                    ),
                )
            return ZoneHealth(zone, usable=False, problem=verdict.problem)
    if negative.state == "listed":
        return ZoneHealth(
            zone,
            usable=False,
            unhealthy=True,
            problem=_unhealthy(
                zone,
                f"it lists {zone.test_unlisted}, which must never be listed "
                f"({', '.join(negative.codes)}): it lists everything",
            ),
        )
    if positive.state != "listed":
        return ZoneHealth(
            zone,
            usable=False,
            unhealthy=True,
            problem=_unhealthy(
                zone,
                f"it does not list {zone.test_listed}, which must always be listed: "
                "the list is dead, or it does not answer your resolver",
            ),
        )
    return ZoneHealth(zone, usable=True)


def _unhealthy(zone: BlocklistZone, why: str) -> Finding:
    return finding(
        "DNSBL_ZONE_UNHEALTHY",
        f"{label(zone)} fails its RFC 5782 test point: {why}. Its answers are ignored.",
    )


def query_prefix(target: str) -> str:
    """What a zone is asked about ``target``: a reversed address, or the domain itself."""
    try:
        return reverse_address(target)
    except ValueError:
        return target


def query_name(zone: BlocklistZone, target: str) -> str:
    """The name to look up for ``target`` (an address or a domain) in ``zone``."""
    return f"{query_prefix(target)}.{zone.zone}"


def applies(zone: BlocklistZone, target: Target) -> bool:
    """Whether ``zone`` is asked about ``target`` (kind, and IPv6 support)."""
    if zone.kind != target.kind:
        return False
    return target.kind == "domain" or ":" not in target.name or zone.ipv6


def evaluate_blocklists(
    readings: Sequence[tuple[BlocklistZone, Verdict, str | None]],
    unusable: Sequence[ZoneHealth],
    target: str,
    reused: Sequence[Listing] = (),
) -> BlocklistResult:
    """The blocklists check of one target from its readings (pure)."""
    findings: list[Finding] = []
    listings: list[Listing] = []
    for zone, verdict, reason in readings:
        low = verdict.state == "listed" and _low_impact(zone, verdict.codes)
        listing = Listing(
            zone=zone.zone,
            name=zone.name,
            listed=None if verdict.state == "error" else verdict.state == "listed",
            codes=verdict.codes,
            meanings=verdict.meanings,
            reason=reason,
            state=verdict.state,
            impact="low" if low else zone.impact,
            delist_url=zone.delist_url,
        )
        listings.append(listing)
        if verdict.problem is not None:
            findings.append(verdict.problem)
        elif listing.listed:
            findings.append(listed_finding(listing, target))
    for listing in reused:
        listings.append(listing)
        if listing.listed:
            findings.append(listed_finding(listing, target))
    for health in unusable:
        listings.append(
            Listing(
                zone=health.zone.zone,
                name=health.zone.name,
                listed=None,
                state="unhealthy" if health.unhealthy else "error",
                impact=health.zone.impact,
                delist_url=health.zone.delist_url,
            )
        )
        if health.problem is not None:
            findings.append(health.problem)
    unhealthy = tuple(h.zone.zone for h in unusable if h.unhealthy)
    return BlocklistResult(
        findings=tuple(findings), listings=tuple(listings), unhealthy_zones=unhealthy
    )


def readable_time(moment: str) -> str:
    """An ISO 8601 time as people read it in a sentence: "2026-12-07 06:15 UTC" (no
    seconds or microseconds; a time without a zone, or not a time, is left as it is)."""
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        return moment
    if parsed.tzinfo is None:
        return moment
    return f"{parsed.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def listed_finding(listing: Listing, target: str) -> Finding:
    """The finding for a listing: fail on lists receivers act on, warn on the others."""
    code = "DNSBL_LISTED_LOW_IMPACT" if listing.impact == "low" else "DNSBL_LISTED"
    where = listing.zone if listing.name == listing.zone else f"{listing.name} ({listing.zone})"
    message = f"{target} is listed on {where}: {'; '.join(listing.meanings)}."
    if listing.reason:
        message += f" The list says: {listing.reason}"
    if listing.cached_at:
        message += f" (as checked at {readable_time(listing.cached_at)}; not asked again yet)"
    fix = None
    if listing.delist_url:
        fix = (
            "Find and stop what got it listed (the reason above), then request removal at "
            f"{listing.delist_url}."
        )
    return finding(code, message, fix)


@dataclass(frozen=True)
class BlocklistPlan:
    """Which zones a sweep asks, how fast, and what it may take from history."""

    ip_zones: tuple[BlocklistZone, ...] = ()
    domain_zones: tuple[BlocklistZone, ...] = ()
    # Queries per second per zone; None asks as fast as the resolver allows.
    queries_per_second: float | None = None
    # How that rate is kept, per zone: None keeps it in this process; several
    # processes sharing one rate pass a limiter leasing from a common ledger.
    pace: Callable[[str, float], Limiter] | None = None
    # Listings checked recently enough (re-check interval): (target, zone) -> listing.
    reuse: Mapping[tuple[str, str], Listing] = field(default_factory=dict)

    def zones_for(self, target: Target) -> tuple[BlocklistZone, ...]:
        zones = self.ip_zones if target.kind == "ip" else self.domain_zones
        return tuple(zone for zone in zones if applies(zone, target))


class _Sweep:
    """The zones' health and rate limits, shared by every target of one sweep."""

    def __init__(self, plan: BlocklistPlan, resolver: BulkResolver) -> None:
        self.plan = plan
        self.resolver = resolver
        self.health: dict[str, ZoneHealth] = {}
        rate = plan.queries_per_second
        zones = (*plan.ip_zones, *plan.domain_zones)
        pace = plan.pace or (lambda _zone, rate: RateLimiter(rate))
        self.limits = {z.zone: pace(z.zone, rate) for z in zones} if rate else {}

    async def ask(self, zone: BlocklistZone, name: str, rdtype: int = A) -> BulkAnswer:
        limit = self.limits.get(zone.zone)
        if limit is not None:
            await limit.acquire()
        return await self.resolver.lookup(name, rdtype)

    async def check_health(self, zones: Iterable[BlocklistZone]) -> None:
        async def one(zone: BlocklistZone) -> ZoneHealth:
            listed, unlisted = await asyncio.gather(
                self.ask(zone, query_name(zone, zone.test_listed)),
                self.ask(zone, query_name(zone, zone.test_unlisted)),
            )
            return evaluate_health(zone, listed, unlisted)

        for health in await asyncio.gather(*(one(z) for z in zones)):
            self.health[health.zone.zone] = health

    async def reading(
        self, zone: BlocklistZone, prefix: str
    ) -> tuple[BlocklistZone, Verdict, str | None]:
        name = f"{prefix}.{zone.zone}"
        verdict = read_answer(zone, await self.ask(zone, name))
        reason = None
        if verdict.state == "listed":
            texts = await self.ask(zone, name, TXT)
            reason = " ".join(texts.records) or None
        return zone, verdict, reason

    async def check(self, target: Target) -> BlocklistResult:
        reused, asked, unusable = [], [], []
        for zone in self.plan.zones_for(target):
            stored = self.plan.reuse.get((target.name, zone.zone))
            health = self.health[zone.zone]
            if stored is not None:
                reused.append(stored)
            elif health.usable:
                asked.append(zone)
            else:
                unusable.append(health)
        prefix = query_prefix(target.name)
        readings = await asyncio.gather(*(self.reading(z, prefix) for z in asked))
        return evaluate_blocklists(readings, unusable, target.name, reused)


async def stream_blocklists(
    targets: Iterable[Target],
    plan: BlocklistPlan,
    resolver: BulkResolver,
    *,
    window: int = DEFAULT_WINDOW,
) -> AsyncIterator[tuple[Target, BlocklistResult]]:
    """Check ``targets`` as they come, ``window`` at a time.

    Results are yielded as they complete (not in input order), and targets
    are drawn from the iterable only as workers free up, so memory stays
    flat however many targets are streamed through.
    """
    sweep = _Sweep(plan, resolver)
    await sweep.check_health({z.zone: z for z in (*plan.ip_zones, *plan.domain_zones)}.values())
    pending = iter(targets)
    done: asyncio.Queue[tuple[Target, BlocklistResult] | None] = asyncio.Queue(maxsize=window)

    async def worker() -> None:
        # One shared iterator: the event loop runs one worker at a time, so
        # each target is drawn exactly once.
        for target in pending:
            await done.put((target, await sweep.check(target)))

    async def work() -> None:
        try:
            await asyncio.gather(*(worker() for _ in range(window)))
        finally:
            await done.put(None)

    workers = asyncio.ensure_future(work())
    try:
        while (item := await done.get()) is not None:
            yield item
        await workers  # re-raises what a worker raised
    finally:
        workers.cancel()


async def check_blocklists_async(
    targets: Sequence[Target], plan: BlocklistPlan, settings: DnsSettings, concurrency: int
) -> dict[str, BlocklistResult]:
    """The blocklists check of every target, by target name."""
    kinds = {target.kind for target in targets}
    # Zones of a kind no target has would only cost their test-point queries.
    plan = replace(
        plan,
        ip_zones=plan.ip_zones if "ip" in kinds else (),
        domain_zones=plan.domain_zones if "domain" in kinds else (),
    )
    results: dict[str, BlocklistResult] = {}
    async with BulkResolver(settings, concurrency=concurrency) as resolver:
        async for target, result in stream_blocklists(targets, plan, resolver):
            results[target.name] = result
    return results


def check_blocklists(
    targets: Sequence[Target], plan: BlocklistPlan, settings: DnsSettings, concurrency: int = 256
) -> dict[str, BlocklistResult]:
    """Synchronous :func:`check_blocklists_async` (runs its own event loop)."""
    return asyncio.run(check_blocklists_async(targets, plan, settings, concurrency))
