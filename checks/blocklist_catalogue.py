"""The blocklist catalogue: which DNSBLs exist, what their answers mean, which to ask.

The catalogue is data (``checks/blocklists.toml``, documented in its header);
users may add or override zones with a file of the same format. This module
turns it into frozen :class:`BlocklistZone` objects and picks the zones of a
run: the catalogue's defaults, or the zones a user names (by id or by zone),
with a configured key swapping a public zone for its keyed one (Spamhaus
DQS). Zones a user names that the catalogue does not know get the plain
RFC 5782 reading: any answer in 127.0.0.0/8 is a listing.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from checks.errors import BadInput

ZoneKind = Literal["ip", "domain"]
Impact = Literal["high", "low"]

# RFC 5782 section 5: the test points every list must answer.
TEST_POINTS: dict[str, tuple[str, str]] = {
    "ip": ("127.0.0.2", "127.0.0.1"),
    "domain": ("test", "invalid"),
}

_STRING_KEYS = {
    "id", "name", "zone", "kind", "impact", "key_name", "key_zone", "delist_url", "terms",
    "test_listed", "test_unlisted", "why", "replaced_by", "test_listed_answer",
}  # fmt: skip
_BOOL_KEYS = {
    "ipv6", "default", "defunct", "bitmask", "key_required", "refuses_public_resolvers",
    "resolver_registration",
}  # fmt: skip
_TABLE_KEYS = {"codes", "errors", "info"}
_LIST_KEYS = {"informational_codes", "sources"}


class CatalogueError(BadInput):
    """A catalogue file, or a zone a user named, cannot be used."""

    label = "blocklist error"


@dataclass(frozen=True)
class BlocklistZone:
    """One DNSBL: where to ask and how to read its answers."""

    id: str
    name: str
    zone: str
    kind: ZoneKind
    ipv6: bool = False
    default: bool = False
    impact: Impact = "high"
    defunct: bool = False
    bitmask: bool = False
    key_required: bool = False
    key_name: str | None = None
    key_zone: str | None = None
    codes: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    info: Mapping[str, str] = field(default_factory=dict)
    informational_codes: frozenset[str] = frozenset()
    test_listed: str = ""
    test_unlisted: str = ""
    delist_url: str | None = None
    terms: str | None = None
    why: str | None = None
    # The zone as the catalogue names it, when a key replaced it in ``zone``.
    public_zone: str | None = None


def _zone_from(entry: Mapping[str, Any], where: str) -> BlocklistZone:
    known = _STRING_KEYS | _BOOL_KEYS | _TABLE_KEYS | _LIST_KEYS
    for key, value in entry.items():
        if key not in known:
            raise CatalogueError(f"{where}: unknown key '{key}'")
        expected = (
            str if key in _STRING_KEYS else bool if key in _BOOL_KEYS else dict
            if key in _TABLE_KEYS else list
        )  # fmt: skip
        if not isinstance(value, expected):
            raise CatalogueError(f"{where}: '{key}' must be a {expected.__name__}")
    for key in ("id", "zone", "kind"):
        if key not in entry:
            raise CatalogueError(f"{where}: '{key}' is required")
    kind = entry["kind"]
    if kind not in TEST_POINTS:
        raise CatalogueError(f"{where}: kind must be 'ip' or 'domain', not {kind!r}")
    impact = entry.get("impact", "high")
    if impact not in ("high", "low"):
        raise CatalogueError(f"{where}: impact must be 'high' or 'low', not {impact!r}")
    listed, unlisted = TEST_POINTS[kind]
    return BlocklistZone(
        id=entry["id"],
        name=entry.get("name", entry["zone"]),
        zone=entry["zone"].lower().rstrip("."),
        kind=kind,
        ipv6=entry.get("ipv6", False),
        default=entry.get("default", False),
        impact=impact,
        defunct=entry.get("defunct", False),
        bitmask=entry.get("bitmask", False),
        key_required=entry.get("key_required", False),
        key_name=entry.get("key_name"),
        key_zone=entry.get("key_zone"),
        codes=dict(entry.get("codes", {})),
        errors=dict(entry.get("errors", {})),
        info=dict(entry.get("info", {})),
        informational_codes=frozenset(entry.get("informational_codes", ())),
        test_listed=entry.get("test_listed", listed),
        test_unlisted=entry.get("test_unlisted", unlisted),
        delist_url=entry.get("delist_url"),
        terms=entry.get("terms"),
        why=entry.get("why"),
    )


def parse_catalogue(text: str, source: str) -> dict[str, BlocklistZone]:
    """Zones by id from catalogue ``text``; ``source`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError(f"{source}: {error}") from None
    entries = data.get("zone", [])
    if not isinstance(entries, list):
        raise CatalogueError(f"{source}: 'zone' must be an array of tables ([[zone]])")
    zones: dict[str, BlocklistZone] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"{source}: zone {entry.get('id', number)!r}"
        zone = _zone_from(entry, where)
        if zone.id in zones:
            raise CatalogueError(f"{where}: id is used twice")
        zones[zone.id] = zone
    return zones


def load_catalogue(extra: Iterable[Path] = ()) -> dict[str, BlocklistZone]:
    """The shipped catalogue, with the zones of ``extra`` files added or overriding."""
    shipped = resources.files("checks") / "blocklists.toml"
    zones = parse_catalogue(shipped.read_text(encoding="utf-8"), "checks/blocklists.toml")
    for path in extra:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CatalogueError(f"{path}: cannot read: {error.strerror}") from None
        zones.update(parse_catalogue(text, str(path)))
    return zones


def custom_zone(zone: str, kind: ZoneKind) -> BlocklistZone:
    """A zone the catalogue does not know: plain RFC 5782 semantics."""
    name = zone.lower().rstrip(".")
    listed, unlisted = TEST_POINTS[kind]
    return BlocklistZone(
        id=name, name=name, zone=name, kind=kind, ipv6=kind == "ip", default=False,
        test_listed=listed, test_unlisted=unlisted,
    )  # fmt: skip


def _with_key(zone: BlocklistZone, keys: Mapping[str, str]) -> BlocklistZone | None:
    """``zone`` switched to its keyed zone when a key is configured; None if unusable."""
    key = keys.get(zone.key_name or "") if zone.key_zone else None
    if key:
        keyed = zone.key_zone.format(key=key).lower()  # type: ignore[union-attr]
        return replace(zone, zone=keyed, public_zone=zone.zone)
    return None if zone.key_required else zone


def select_zones(
    catalogue: Mapping[str, BlocklistZone],
    kind: ZoneKind,
    names: Sequence[str] | None = None,
    keys: Mapping[str, str] | None = None,
) -> tuple[BlocklistZone, ...]:
    """The zones of ``kind`` to ask in a run.

    ``names`` None means the catalogue's defaults (skipping lists that need a
    key nobody configured); otherwise exactly the named zones, each by id or
    zone name. Naming a defunct list, a keyed list without its key, or a
    list of the other kind raises :class:`CatalogueError`.
    """
    keys = keys or {}
    if names is None:
        chosen = [z for z in catalogue.values() if z.kind == kind and z.default and not z.defunct]
        return tuple(z for z in (_with_key(z, keys) for z in chosen) if z is not None)
    by_zone = {z.zone: z for z in catalogue.values()}
    selected: list[BlocklistZone] = []
    for name in names:
        wanted = name.strip().lower().rstrip(".")
        known = catalogue.get(wanted) or by_zone.get(wanted)
        if known is None:
            selected.append(custom_zone(wanted, kind))
            continue
        if known.kind != kind:
            option = "--domain-zone" if known.kind == "domain" else "--zone"
            raise CatalogueError(f"{name} lists {known.kind}s: give it with {option}")
        if known.defunct:
            raise CatalogueError(f"{name} is defunct and must not be queried: {known.why}")
        keyed = _with_key(known, keys)
        if keyed is None:
            raise CatalogueError(
                f"{name} can only be queried with a key: set [blocklists] keys = "
                f'"{known.key_name}=<key>"'
            )
        selected.append(keyed)
    unique = {zone.zone: zone for zone in selected}
    return tuple(unique.values())
