"""How a rate reads for people, the same on the page, in the CLI table and in the PDFs (pure).

One format for a rate (percent with two decimals; under 0.01% it reads "<0.01%" rather
than a misleading "0.00%"), one name per metric id, and one wording of a verdict: a
profile without enough volume is "not judged: 42 delivered, 100 needed", never ERROR
or FAIL (its JSON status stays ``error``, per the contract).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compliance.rates.results import LatestDay, MetricResult, ProfileResult

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


def below_volume(profile: ProfileResult) -> str | None:
    """ "not judged: 42 delivered, 100 needed" when the profile's traffic is under its volume.

    A profile judged by another one has no volume of its own and is never below it.
    """
    if profile.judged_by is not None or profile.delivered >= profile.needed:
        return None
    return f"not judged: {profile.delivered} delivered, {profile.needed} needed"


def not_judged(profile: ProfileResult) -> str | None:
    """The "not judged: …" wording of a profile whose status is ``error`` for want of volume."""
    return below_volume(profile) if profile.status == "error" else None


def verdict(profile: ProfileResult) -> str:
    """The word a profile's status reads as: PASS/WARN/FAIL/ERROR, or "not judged: …"."""
    return not_judged(profile) or profile.status.upper()


def _metric_below(profile: ProfileResult, metric: MetricResult) -> str | None:
    if metric.value is None and metric.status == "error":
        return below_volume(profile)
    return None


def metric_verdict(profile: ProfileResult, metric: MetricResult) -> str:
    """The word one metric's status reads as; a metric left without a value for want of
    volume is "not judged", not ERROR (Gmail's own figure may still judge its profile)."""
    return "not judged" if _metric_below(profile, metric) else metric.status.upper()


def rate_sentence(profile: ProfileResult, metric_id: str, metric: MetricResult) -> str:
    """ "Gmail complaint rate 0.59% — fail line 0.30% — FAIL, 675 delivered"."""
    title = profile.title.split(" (")[0]
    name = metric_name(metric_id)
    if not name.startswith(title):
        name = f"{title} {name}"
    lines = []
    if metric.warn is not None:
        lines.append(f"warn line {format_rate(metric.warn)}")
    if metric.fail is not None:
        lines.append(f"fail line {format_rate(metric.fail)}")
    status = _metric_below(profile, metric) or (
        f"{metric_verdict(profile, metric)}, {profile.delivered} delivered"
    )
    # Without a value (not judged) the sentence names the rate and says why, not "—".
    value = metric.value
    head = name if value is None else f"{name} {format_rate(value)}"
    return " — ".join([head, *lines, status])


def latest_sentence(latest: LatestDay | None, metric: MetricResult) -> str | None:
    """ "yesterday: 2.20%, over 0.30%": the latest day's rate against the fail (else warn) line."""
    if latest is None or latest.value is None:
        return None
    value = latest.value
    line = metric.fail if metric.fail is not None else metric.warn
    if line is None:
        return f"{latest.label}: {format_rate(value)}"
    side = "over" if value >= line else "under"
    return f"{latest.label}: {format_rate(value)}, {side} {format_rate(line)}"


# What templates (the dashboard's and the reports') call, by these names.
TEMPLATE_GLOBALS = {
    "rate_text": format_rate,
    "metric_name": metric_name,
    "verdict": verdict,
    "metric_verdict": metric_verdict,
    "rate_sentence": rate_sentence,
    "latest_sentence": latest_sentence,
}
