"""The whole schema: every table module, imported so their tables are in ``metadata``."""

from __future__ import annotations

from store import (
    alerting,
    contacts,
    conversions,
    dmarc,
    events,
    messages,
    models,
    receivers,
    reports,
    scheduling,
    security,
    sweeps,
    users,
)

metadata = models.Base.metadata

__all__ = [
    "alerting",
    "contacts",
    "conversions",
    "dmarc",
    "events",
    "messages",
    "metadata",
    "models",
    "receivers",
    "reports",
    "scheduling",
    "security",
    "sweeps",
    "users",
]
