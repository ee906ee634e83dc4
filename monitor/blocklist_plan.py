"""Which blocklist zones a run asks: the configured ones, or those named on the command line."""

from __future__ import annotations

from collections.abc import Sequence

from checks.blocklist_catalogue import load_catalogue, select_zones
from checks.blocklists import BlocklistPlan
from monitor.settings import BlocklistSettings


def make_plan(
    settings: BlocklistSettings,
    zones: Sequence[str] = (),
    domain_zones: Sequence[str] = (),
) -> BlocklistPlan | None:
    """The zones of a run; command-line ``zones`` replace the configured ones.

    Raises :class:`checks.blocklist_catalogue.CatalogueError` for a zone
    that must not be asked (defunct, keyed without a key, wrong kind).
    """
    if not settings.enabled and not (zones or domain_zones):
        return None
    ip_names: Sequence[str] | None = settings.zones
    domain_names: Sequence[str] | None = settings.domain_zones
    if zones or domain_zones:
        ip_names, domain_names = zones, domain_zones
    elif ip_names is not None or domain_names is not None:
        ip_names, domain_names = ip_names or (), domain_names or ()
    catalogue = load_catalogue(settings.catalogue)
    return BlocklistPlan(
        ip_zones=select_zones(catalogue, "ip", ip_names, settings.keys),
        domain_zones=select_zones(catalogue, "domain", domain_names, settings.keys),
        queries_per_second=settings.queries_per_second or None,
    )
