"""The results of ``rates``, and their one JSON serialisation.

:func:`compliance.rates.report.rates_report` returns a :class:`RatesResult`; its
``to_json`` is the contract's ``rates --format json`` object (DESIGN.md), so
the CLI, the API, the dashboard and the reports read the same fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from checks.findings import Finding, Status, worst

# Where a figure comes from (``source``): the ESP's delivery events, unless a receiver says.
ESP = "esp_events"


@dataclass(frozen=True)
class Figures:
    """Counts and rates of some traffic, as ``rates`` prints them (rates rounded, None
    without a base); ``sent`` is what rates divide by (see ``Totals.sent_base``)."""

    sent: int
    delivered: int
    bounced_hard: int
    bounced_soft: int
    complaints: int
    unsubscribes: int
    opens: int
    machine_opens: int
    clicks: int
    bounce_rate: float | None
    hard_bounce_rate: float | None
    complaint_rate: float | None

    def rate(self, metric: str) -> float | None:
        """The rounded value of ``metric`` (one of ``limit_profiles.METRICS``)."""
        value: float | None = getattr(self, metric)
        return value

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DayFigures:
    """One day of the window and its figures (zero counts on a day without mail)."""

    day: date
    figures: Figures

    def to_json(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), **self.figures.to_json()}


@dataclass(frozen=True)
class LatestDay:
    """A metric on the last day of the window with mail in the profile's scope."""

    day: date
    label: str
    value: float | None
    delivered: int

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "label": self.label,
            "value": self.value,
            "delivered": self.delivered,
        }


@dataclass(frozen=True)
class MetricResult:
    """One rate against a profile's lines, and where the figure comes from.

    ESP-based metrics carry ``latest`` (the last day with mail, or None); a
    receiver's own figure (Gmail's spam rate, SNDS's complaint rate) has no
    daily series, and ``domain`` names the domain Gmail's figure is of.
    """

    value: float | None
    warn: float | None
    fail: float | None
    status: Status
    latest: LatestDay | None = None
    source: str = ESP
    as_of: date | None = None
    domain: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": self.value,
            "warn": self.warn,
            "fail": self.fail,
            "status": self.status,
        }
        if self.source == ESP:
            out["latest"] = None if self.latest is None else self.latest.to_json()
        out["source"] = self.source
        out["as_of"] = None if self.as_of is None else self.as_of.isoformat()
        if self.domain is not None:
            out["domain"] = self.domain
        return out


@dataclass(frozen=True)
class Trend:
    """A straight line through a metric's daily values, and where it meets the fail line."""

    slope_per_day: float
    crosses_fail_on: date | None

    def to_json(self) -> dict[str, Any]:
        return {
            "slope_per_day": round(self.slope_per_day, 8),
            "crosses_fail_on": self.crosses_fail_on.isoformat() if self.crosses_fail_on else None,
        }


@dataclass(frozen=True)
class ProfileResult:
    """One limit profile's verdict on the traffic in its scope.

    A profile that publishes no thresholds is ``judged_by`` another one and
    carries no metrics, volume, trends or requirements of its own.
    ``status`` is set, not derived: Gmail's own spam rate, when stored,
    replaces the ESP-based complaint rate in the verdict.
    """

    status: Status
    scope: str
    title: str
    kind: str
    published: bool
    metrics: Mapping[str, MetricResult]
    findings: tuple[Finding, ...]
    sources: tuple[str, ...]
    delivered: int = 0
    needed: int = 0
    trends: Mapping[str, Trend] | None = None
    requirements: tuple[str, ...] = ()
    judged_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        head: dict[str, Any] = {
            "status": self.status,
            "scope": self.scope,
            "title": self.title,
            "kind": self.kind,
            "published": self.published,
        }
        metrics = {name: metric.to_json() for name, metric in self.metrics.items()}
        findings = [asdict(item) for item in self.findings]
        if self.judged_by is not None:
            return {
                **head,
                "judged_by": self.judged_by,
                "metrics": metrics,
                "findings": findings,
                "sources": list(self.sources),
            }
        return {
            **head,
            "delivered": self.delivered,
            "needed": self.needed,
            "metrics": metrics,
            "trends": {name: trend.to_json() for name, trend in (self.trends or {}).items()},
            "findings": findings,
            "sources": list(self.sources),
            "requirements": list(self.requirements),
        }


@dataclass(frozen=True)
class Freshness:
    """The latest day a source's figures rest on (None: nothing stored in the window)."""

    as_of: date | None

    def to_json(self) -> dict[str, Any]:
        return {"as_of": None if self.as_of is None else self.as_of.isoformat()}


@dataclass(frozen=True)
class RateSources:
    """Where the figures come from and how fresh each source is.

    ``gmail_postmaster`` and ``snds`` are None when no profile asked them.
    """

    esp_events: Freshness
    arf_complaints: int
    gmail_postmaster: Freshness | None = None
    snds: Freshness | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            ESP: self.esp_events.to_json(),
            "arf": {"complaints": self.arf_complaints},
        }
        if self.gmail_postmaster is not None:
            out["gmail_postmaster"] = self.gmail_postmaster.to_json()
        if self.snds is not None:
            out["snds"] = self.snds.to_json()
        return out


@dataclass(frozen=True)
class RatesResult:
    """Bounce and complaint rates over ``first``..``as_of`` and each profile's verdict."""

    as_of: date
    days: int
    first: date
    totals: Figures
    providers: Mapping[str, Figures]
    profiles: Mapping[str, ProfileResult]
    sources: RateSources
    daily: tuple[DayFigures, ...] = ()
    # The same series on each mailbox provider's traffic alone (what its profile judges).
    daily_by_provider: Mapping[str, tuple[DayFigures, ...]] | None = None

    @property
    def status(self) -> Status:
        return worst(profile.status for profile in self.profiles.values())

    def to_json(self) -> dict[str, Any]:
        """The contract's ``rates --format json`` object."""
        return {
            "as_of": self.as_of.isoformat(),
            "days": self.days,
            "from": self.first.isoformat(),
            **self.totals.to_json(),
            "providers": {name: figures.to_json() for name, figures in self.providers.items()},
            "profiles": {name: profile.to_json() for name, profile in self.profiles.items()},
            "sources": self.sources.to_json(),
            "status": self.status,
            "daily": [day.to_json() for day in self.daily],
            "daily_by_provider": {
                provider: [day.to_json() for day in days]
                for provider, days in (self.daily_by_provider or {}).items()
            },
        }
