"""[blocklists]: which DNSBLs to ask and how gently."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class BlocklistSettings:
    """Which DNSBLs to ask and how gently.

    ``zones``/``domain_zones`` None means the catalogue's defaults; naming
    either replaces the whole catalogue (the other kind then gets none).
    """

    enabled: bool = True
    zones: tuple[str, ...] | None = None
    domain_zones: tuple[str, ...] | None = None
    keys: Mapping[str, str] = field(default_factory=dict)
    # Per zone; 0 means as fast as the resolver allows.
    queries_per_second: float = 20.0
    # A target/zone pair checked this recently is not asked again by saved runs.
    recheck_minutes: int = 60
    catalogue: tuple[Path, ...] = ()
