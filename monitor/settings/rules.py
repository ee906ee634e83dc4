"""[rates], [roi] and [messages]: how the compliance rules judge (the [audit] thresholds are
:class:`compliance.audit.thresholds.Thresholds`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from compliance.rates.window import DEFAULT_DAYS, DEFAULT_MIN_DELIVERED


@dataclass(frozen=True)
class RatesSettings:
    """How rates are judged."""

    min_delivered: int = DEFAULT_MIN_DELIVERED
    days: int = DEFAULT_DAYS
    profiles_dir: Path | None = None
    # The ESPs this sender uses; None: every ESP profile is shown and judged.
    esps: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RoiSettings:
    """How conversions are attributed to the mail ([roi])."""

    # Touches this many days before a conversion may take credit for it.
    lookback_days: int = 30
    # The time-decay model halves a touch's weight every this many days.
    half_life_days: float = 7.0
    # Opens count as touches beside clicks (machine opens never do).
    opens: bool = False
    # Fixed costs per month ("500 EUR"), spread over each month's campaigns by sends.
    monthly_costs: tuple[str, ...] = ()


@dataclass(frozen=True)
class MessageSettings:
    """How sent messages are audited."""

    max_bytes: int = 25 * 1024 * 1024
    probe_timeout: float = 10.0
