"""The whole schema: every table module, imported so their tables are in ``metadata``."""

from __future__ import annotations

from store import alerting, contacts, dmarc, events, messages, models, reports, scheduling, users

metadata = models.Base.metadata

__all__ = [
    "alerting",
    "contacts",
    "dmarc",
    "events",
    "messages",
    "metadata",
    "models",
    "reports",
    "scheduling",
    "users",
]
