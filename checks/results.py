"""Result objects of the probes, and their one JSON serialisation.

Each probe returns a frozen dataclass; its ``status`` is derived from its
findings. :func:`to_json` is the only place results become dicts, so the
JSON contract of DESIGN.md lives here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from checks.findings import Finding, Status, status_of, worst


@dataclass(frozen=True)
class CheckResult:
    """Common part of every check: its findings and the status they imply."""

    findings: tuple[Finding, ...] = ()

    @property
    def status(self) -> Status:
        return status_of(self.findings)


@dataclass(frozen=True)
class SpfInclude:
    """One record of an SPF include tree and what it costs of the 10-lookup limit:
    ``lookups`` its own DNS-querying terms (each include and redirect among them),
    ``total`` those plus everything its includes cost."""

    domain: str
    record: str | None
    lookups: int
    total: int
    includes: tuple[SpfInclude, ...] = ()


@dataclass(frozen=True)
class SpfResult(CheckResult):
    record: str | None = None
    dns_lookups: int | None = None
    void_lookups: int | None = None
    all_qualifier: str | None = None
    # Over the lookup limit: where the lookups go, include by include.
    include_tree: SpfInclude | None = None


@dataclass(frozen=True)
class DmarcResult(CheckResult):
    record: str | None = None
    policy: str | None = None
    location: str | None = None
    subdomain_policy: str | None = None
    nonexistent_subdomain_policy: str | None = None
    testing: bool | None = None
    rua: tuple[str, ...] = ()


@dataclass(frozen=True)
class DkimSelectorResult(CheckResult):
    record: str | None = None
    key_type: str | None = None
    key_bits: int | None = None
    testing: bool = False


@dataclass(frozen=True)
class DkimResult(CheckResult):
    selectors: Mapping[str, DkimSelectorResult] = field(default_factory=dict)
    discovered: bool = False

    @property
    def status(self) -> Status:
        return worst([status_of(self.findings), *(s.status for s in self.selectors.values())])


@dataclass(frozen=True)
class MxHost:
    host: str
    preference: int
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class MxResult(CheckResult):
    hosts: tuple[str, ...] = ()
    records: tuple[MxHost, ...] = ()


@dataclass(frozen=True)
class PtrResult(CheckResult):
    hostnames: tuple[str, ...] = ()
    fcrdns: bool | None = None


@dataclass(frozen=True)
class Listing:
    """One zone's verdict on one target.

    ``state`` is ``listed``, ``clear``, ``error`` (could not ask, or the zone
    refused) or ``unhealthy`` (the zone failed its test points this sweep);
    ``listed`` is None unless the zone gave a usable answer.
    """

    zone: str
    name: str
    listed: bool | None
    codes: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()
    reason: str | None = None
    state: str = "clear"
    impact: str = "high"
    delist_url: str | None = None
    # When the verdict was taken from an earlier sweep (re-check interval).
    cached_at: str | None = None


@dataclass(frozen=True)
class BlocklistResult(CheckResult):
    listings: tuple[Listing, ...] = ()
    unhealthy_zones: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetResult:
    """All checks of one target (a domain or an IP address)."""

    target: str
    kind: str
    checks: Mapping[str, CheckResult]

    @property
    def status(self) -> Status:
        return worst(check.status for check in self.checks.values())


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    names = _field_names(type(value))
    if names is not None:
        out: dict[str, Any] = {"status": value.status} if isinstance(value, CheckResult) else {}
        for name in names:
            out[name] = _jsonable(getattr(value, name))
        return out
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


# The field names of each dataclass type met, None for other types: asked once per type,
# since a sweep's output turns some forty objects per target into JSON.
_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(kind: type) -> tuple[str, ...] | None:
    if kind not in _FIELD_NAMES:
        is_dataclass = dataclasses.is_dataclass(kind)
        names = tuple(item.name for item in dataclasses.fields(kind)) if is_dataclass else None
        _FIELD_NAMES[kind] = names
    return _FIELD_NAMES[kind]


def to_json(result: TargetResult) -> dict[str, Any]:
    """The contract's JSON object for one target."""
    return {
        "target": result.target,
        "kind": result.kind,
        "status": result.status,
        "checks": {name: _jsonable(check) for name, check in result.checks.items()},
    }
