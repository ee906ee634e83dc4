"""How a rate reads for people, the same on the page, in the CLI table and in the PDFs (pure).

One format for a rate (percent with two decimals; under 0.01% it reads "<0.01%" rather
than a misleading "0.00%"), one name per metric id, and one wording of a verdict: a
profile without enough volume is "not judged: 42 delivered, 100 needed", never ERROR
or FAIL (its JSON status stays ``error``, per the contract).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Metric ids as people read them.
METRIC_NAMES: dict[str, str] = {
    "bounce_rate": "bounce rate",
    "hard_bounce_rate": "hard bounce rate",
    "complaint_rate": "complaint rate",
    "spam_rate": "Gmail spam rate",
    "snds_complaint_rate": "SNDS complaint rate",
}
_SMALLEST = 0.0001  # 0.01 %


def format_rate(value: float | None) -> str:
    """A fraction as "0.59%"; a positive value under 0.01% as "<0.01%"; None as "—"."""
    if value is None:
        return "—"
    if 0 < value < _SMALLEST:
        return "<0.01%"
    return f"{value:.2%}"


def metric_name(metric: str) -> str:
    """``complaint_rate`` → "complaint rate" (an unknown id reads with spaces)."""
    return METRIC_NAMES.get(metric, metric.replace("_", " "))


def not_judged(profile: Mapping[str, Any]) -> str | None:
    """ "not judged: 42 delivered, 100 needed" for a profile below its volume, else None."""
    low = any(f.get("code") == "RATES_LOW_VOLUME" for f in profile.get("findings", ()))
    if profile.get("status") != "error" or not low:
        return None
    return (
        f"not judged: {profile.get('delivered', 0)} delivered, {profile.get('needed', '?')} needed"
    )


def verdict(profile: Mapping[str, Any]) -> str:
    """The word a profile's status reads as: PASS/WARN/FAIL/ERROR, or "not judged: …"."""
    return not_judged(profile) or str(profile["status"]).upper()


def metric_verdict(profile: Mapping[str, Any], metric: Mapping[str, Any]) -> str:
    """The word one metric's status reads as; a metric without a value in a profile below
    its volume is "not judged", not ERROR."""
    if metric.get("value") is None and not_judged(profile):
        return "not judged"
    return str(metric["status"]).upper()


def rate_sentence(profile: Mapping[str, Any], metric_id: str, metric: Mapping[str, Any]) -> str:
    """ "Gmail complaint rate 0.59% — fail line 0.30% — FAIL, 675 delivered"."""
    title = str(profile.get("title", "")).split(" (")[0]
    name = metric_name(metric_id)
    if not name.startswith(title):
        name = f"{title} {name}"
    lines = []
    if metric.get("warn") is not None:
        lines.append(f"warn line {format_rate(metric['warn'])}")
    if metric.get("fail") is not None:
        lines.append(f"fail line {format_rate(metric['fail'])}")
    judged = not_judged(profile) if metric.get("value") is None else None
    status = judged or f"{metric_verdict(profile, metric)}, {profile.get('delivered', 0)} delivered"
    return " — ".join([f"{name} {format_rate(metric.get('value'))}", *lines, status])


def latest_sentence(latest: Mapping[str, Any] | None, metric: Mapping[str, Any]) -> str | None:
    """ "yesterday: 2.20%, over 0.30%": the latest day's rate against the fail (else warn) line."""
    if not latest or latest.get("value") is None:
        return None
    value = latest["value"]
    line = metric.get("fail") if metric.get("fail") is not None else metric.get("warn")
    if line is None:
        return f"{latest['label']}: {format_rate(value)}"
    side = "over" if value >= line else "under"
    return f"{latest['label']}: {format_rate(value)}, {side} {format_rate(line)}"


# What templates (the dashboard's and the reports') call, by these names.
TEMPLATE_GLOBALS = {
    "rate_text": format_rate,
    "metric_name": metric_name,
    "verdict": verdict,
    "metric_verdict": metric_verdict,
    "rate_sentence": rate_sentence,
    "latest_sentence": latest_sentence,
}
