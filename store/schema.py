"""The whole schema: every table module, imported so their tables are in ``metadata``."""

from __future__ import annotations

from store import (
    alerting,
    contacts,
    events,
    messages,
    models,
    reports,
    scheduling,
    security,
    users,
)

metadata = models.Base.metadata

__all__ = [
    "alerting",
    "contacts",
    "events",
    "messages",
    "metadata",
    "models",
    "reports",
    "scheduling",
    "security",
    "users",
]
