"""Limit profiles: the lines mailbox providers and ESPs draw, as data with their sources.

Shipped profiles are the TOML files in ``compliance/rates/profiles``; a directory
of user profiles (same format) adds to or overrides them. A profile's
``scope`` is ``all`` (ESPs, the baseline) or a mailbox provider, whose
profile is judged on mail to that provider's recipients only. A profile
with ``published = false`` and no metrics stands for a provider that
publishes no number: it invents none and points at ``judged_by``. A mailbox
provider's profile also lists the provider's non-rate ``requirements`` of
bulk senders, by the names of :data:`REQUIREMENTS`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from checks.errors import BadInput
from checks.findings import Status
from compliance.rates.providers import PROVIDERS

METRICS = ("bounce_rate", "hard_bounce_rate", "complaint_rate")
SCOPES = ("all", *PROVIDERS)
_SCOPE_ORDER = {scope: rank for rank, scope in enumerate(SCOPES)}
# What a profile's `requirements` may name, and how the dashboard labels each.
REQUIREMENTS: dict[str, str] = {
    "spf": "SPF",
    "dkim": "DKIM",
    "dmarc": "DMARC (p=none at least)",
    "dmarc_alignment": "DMARC alignment (From aligned with DKIM d=)",
    "ptr": "PTR (FCrDNS) of sending IPs",
    "tls": "TLS when sending",
    "one_click_unsubscribe": "One-click unsubscribe (RFC 8058)",
    "unsubscribe_link": "Visible unsubscribe link in the body",
    "unsubscribe_within_2_days": "Unsubscribes honoured within 2 days",
}
_KEYS = {
    "name", "title", "kind", "scope", "sources", "requirements", "published", "judged_by",
    "metrics", "min_delivered",
}  # fmt: skip


class ProfileError(BadInput):
    """A profile file that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class Threshold:
    """Where a metric warns and where it fails (either may be unpublished)."""

    warn: float | None = None
    fail: float | None = None

    def status(self, value: float) -> Status:
        if self.fail is not None and value >= self.fail:
            return "fail"
        if self.warn is not None and value >= self.warn:
            return "warn"
        return "pass"


@dataclass(frozen=True)
class LimitProfile:
    """One provider's (or the baseline's) lines, and where they come from."""

    name: str
    title: str
    kind: str
    scope: str
    metrics: Mapping[str, Threshold] = field(default_factory=dict)
    published: bool = True
    judged_by: str | None = None
    requirements: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    min_delivered: int | None = None


def parse_profile(data: Mapping[str, Any], where: str) -> LimitProfile:
    """A profile from its TOML table (pure); ProfileError names ``where`` and the key."""
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ProfileError(f"{where}: unknown key '{unknown[0]}'")
    if not isinstance(data.get("name"), str) or not data["name"]:
        raise ProfileError(f"{where}: 'name' is required")
    scope = data.get("scope", "all")
    if scope not in SCOPES:
        raise ProfileError(f"{where}: scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    metrics: dict[str, Threshold] = {}
    for metric, lines in (data.get("metrics") or {}).items():
        if metric not in METRICS:
            raise ProfileError(f"{where}: metrics.{metric}: not one of {', '.join(METRICS)}")
        extra = set(lines) - {"warn", "fail"}
        if extra:
            raise ProfileError(f"{where}: metrics.{metric}: unknown key '{sorted(extra)[0]}'")
        for key, value in lines.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
                raise ProfileError(
                    f"{where}: metrics.{metric}.{key}: must be a fraction between 0 and 1"
                )
        threshold = Threshold(lines.get("warn"), lines.get("fail"))
        if None not in (threshold.warn, threshold.fail) and threshold.warn >= threshold.fail:  # type: ignore[operator]
            raise ProfileError(f"{where}: metrics.{metric}: warn must be below fail")
        metrics[metric] = threshold
    requirements = data.get("requirements", [])
    if not isinstance(requirements, list):
        raise ProfileError(f"{where}: requirements must be a list of names")
    for requirement in requirements:
        if requirement not in REQUIREMENTS:
            raise ProfileError(
                f"{where}: requirements: {requirement!r} is not one of {', '.join(REQUIREMENTS)}"
            )
    return LimitProfile(
        name=data["name"],
        title=data.get("title", data["name"]),
        kind=data.get("kind", "esp"),
        scope=scope,
        metrics=metrics,
        published=data.get("published", True),
        judged_by=data.get("judged_by"),
        requirements=tuple(requirements),
        sources=tuple(data.get("sources", ())),
        min_delivered=data.get("min_delivered"),
    )


def _read(text: str, where: str) -> LimitProfile:
    try:
        return parse_profile(tomllib.loads(text), where)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{where}: {error}") from None


def load_profiles(
    directory: Path | None = None, esps: Sequence[str] | None = None
) -> dict[str, LimitProfile]:
    """The shipped profiles, with those of ``directory`` added or overriding, by name.

    ``esps`` (``[rates] esps``) names the ESPs the sender uses: the other ESP profiles are
    left out, so nothing shows or judges them. None keeps every profile.
    """
    profiles: dict[str, LimitProfile] = {}
    shipped = resources.files("compliance.rates") / "profiles"
    for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            profile = _read(
                entry.read_text(encoding="utf-8"), f"compliance/rates/profiles/{entry.name}"
            )
            profiles[profile.name] = profile
    if directory is not None:
        if not directory.is_dir():
            raise ProfileError(f"{directory}: not a directory of profiles")
        for path in sorted(directory.glob("*.toml")):
            profile = _read(path.read_text(encoding="utf-8"), str(path))
            profiles[profile.name] = profile
    for profile in profiles.values():
        if profile.judged_by is not None and profile.judged_by not in profiles:
            raise ProfileError(
                f"profile {profile.name}: judged_by {profile.judged_by!r} is unknown"
            )
    if esps is not None:
        profiles = only_these_esps(profiles, esps)
    # The baseline first, then the mailbox providers, then the ESPs.
    order = {"baseline": 0, "mailbox-provider": 1, "esp": 2}
    ranked = sorted(
        profiles.values(),
        key=lambda p: (order.get(p.kind, 3), _SCOPE_ORDER.get(p.scope, 9), p.name),
    )
    return {profile.name: profile for profile in ranked}


def only_these_esps(
    profiles: Mapping[str, LimitProfile], esps: Sequence[str]
) -> dict[str, LimitProfile]:
    """The profiles without the ESP profiles not named in ``esps`` (pure); a name that is
    no ESP profile is a ProfileError naming the setting."""
    known = sorted(name for name, profile in profiles.items() if profile.kind == "esp")
    for name in esps:
        if name not in known:
            raise ProfileError(
                f"[rates] esps: {name!r} is not an ESP profile (known: {', '.join(known)})"
            )
    return {
        name: profile for name, profile in profiles.items() if profile.kind != "esp" or name in esps
    }
