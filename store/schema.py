"""The whole schema: every table module, imported so their tables are in ``metadata``."""

from __future__ import annotations

from store import alerting, events, models, scheduling

metadata = models.Base.metadata

__all__ = ["alerting", "events", "metadata", "models", "scheduling"]
