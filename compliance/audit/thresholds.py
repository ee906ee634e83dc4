"""The audit's day thresholds: configuration (``[audit]``) as much as rule input.

Kept apart from the rules' SQL so the settings can hold them without
loading SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    """Days of each time-bound rule (defaults as DESIGN.md)."""

    consent_stale_days: int = 540
    dormant_days: int = 90
    inactive_days: int = 365
    unsubscribe_grace_days: int = 2
    retention_days: int = 30

    def of(self, rule: str) -> int | None:
        """The threshold a rule is judged by, if it has one."""
        return {
            "consent_stale": self.consent_stale_days,
            "dormant": self.dormant_days,
            "inactive": self.inactive_days,
            "mailed_after_unsubscribe": self.unsubscribe_grace_days,
            "retention_exceeded": self.retention_days,
        }.get(rule)
