"""What the mail earns: revenue attributed per campaign and model, costs, ROI.

Conversions whose time falls in the window are attributed to the touches
before them (:mod:`compliance.roi.touches`) under each model
(:mod:`compliance.roi.attribution`); sends and clicks per campaign come from
the daily aggregates of the same days. One row per campaign and currency:
currencies are never summed. Credit that no email touch earns stays in
the report, on a row of its channel (``campaign`` null unless the
touchpoint named one) or, with no touch at all, on the row whose
``channel`` and ``campaign`` are both null.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from compliance.roi.attribution import CREDIT, MODELS, SCALE
from compliance.roi.costs import campaign_costs
from compliance.roi.touches import EMAIL, conversion_totals, gather_touches
from store.events import EventDay

# (channel, campaign, currency); channel None: no touch at all.
Key = tuple[str | None, str | None, str]


@dataclass(frozen=True)
class RoiOptions:
    """What a report covers and how it attributes."""

    start: date
    end: date
    lookback_days: int = 30
    half_life_days: float = 7.0
    opens: bool = False
    campaign: str | None = None
    monthly_costs: tuple[str, ...] = ()


@dataclass
class Credit:
    """What one model gave one row: revenue and conversions, in ten-thousandths."""

    revenue: int = 0
    conversions: int = 0


@dataclass
class Attribution:
    """Every model's credit per row, and what was counted."""

    credit: dict[str, dict[Key, Credit]] = field(default_factory=dict)
    conversions: int = 0


def attribute(session: Session, options: RoiOptions, models: Sequence[str] = MODELS) -> Attribution:
    """Run ``models`` over the conversions of the window (one pass over the touches)."""
    start = datetime.combine(options.start, time(), UTC)
    end = datetime.combine(options.end + timedelta(days=1), time(), UTC)
    half_life = options.half_life_days * 86400
    result = Attribution(credit={model: defaultdict(Credit) for model in models})
    chosen = [(CREDIT[model], result.credit[model]) for model in models]
    touched: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for touches in gather_touches(
        session, start, end, lookback_days=options.lookback_days, opens=options.opens
    ):
        value, currency, ages = touches.value, touches.currency, touches.ages
        counted = touched[currency]
        counted[0] += value
        counted[1] += 1
        keys = [(channel, campaign, currency) for channel, campaign in touches.keys]
        if len(keys) == 1:  # every model gives a lone touch everything
            for _model, rows in chosen:
                row = rows[keys[0]]
                row.revenue += value
                row.conversions += SCALE
            continue
        for model, rows in chosen:
            values = model(value, ages, half_life)
            counts = model(SCALE, ages, half_life)
            for key, credit, count in zip(keys, values, counts, strict=True):
                row = rows[key]
                row.revenue += credit
                row.conversions += count
    # What the touched conversions do not account for had no touch in its window.
    for currency, (total, count) in conversion_totals(session, start, end).items():
        result.conversions += count
        untouched = count - touched[currency][1]
        if untouched:
            for _model, rows in chosen:
                rows[(None, None, currency)] = Credit(
                    total - touched[currency][0], untouched * SCALE
                )
    return result


def _sends(session: Session, options: RoiOptions) -> dict[str, tuple[int, int]]:
    """Sends and clicks per campaign over the window's days."""
    rows = session.execute(
        select(EventDay.campaign, func.sum(EventDay.sent), func.sum(EventDay.clicks))
        .where(EventDay.day >= options.start, EventDay.day <= options.end)
        .group_by(EventDay.campaign)
    )
    return {name: (int(sent or 0), int(clicks or 0)) for name, sent, clicks in rows}


def _amount(units: int | None) -> float | None:
    return None if units is None else round(units / SCALE, 4)


def _ratio(part: float | None, whole: float | None) -> float | None:
    return None if part is None or not whole else round(part / whole, 4)


def _rows(
    credit: dict[Key, Credit],
    sends: dict[str, tuple[int, int]],
    costs: dict[tuple[str | None, str], int],
    campaign: str | None,
) -> list[dict[str, Any]]:
    """The campaign rows of one model, email campaigns first (most revenue first)."""
    keys: set[Key] = set(credit)
    keys.update((EMAIL, name, currency) for name, currency in costs)
    email_currencies: dict[str | None, set[str]] = defaultdict(set)
    for channel, name, currency in keys:
        if channel == EMAIL:
            email_currencies[name].add(currency)
    rows = []
    for channel, name, currency in keys:
        rows.append(
            _row(channel, name, currency, credit.get((channel, name, currency)), sends, costs)
        )
    # A campaign that was sent but earned and cost nothing still shows, currency unknown.
    for name in sends:
        if (name or None) not in email_currencies and (sends[name][0] or sends[name][1]):
            rows.append(_row(EMAIL, name or None, None, None, sends, costs))
    if campaign is not None:
        rows = [row for row in rows if row["campaign"] == campaign]
    order = {EMAIL: 0}
    rows.sort(
        key=lambda r: (order.get(r["channel"], 1 if r["channel"] else 2), -r["revenue"],
                       r["campaign"] or "", r["channel"] or "", r["currency"] or "")
    )  # fmt: skip
    return rows


def _row(
    channel: str | None,
    name: str | None,
    currency: str | None,
    credit: Credit | None,
    sends: dict[str, tuple[int, int]],
    costs: dict[tuple[str | None, str], int],
) -> dict[str, Any]:
    sent, clicks = sends.get(name or "", (0, 0)) if channel == EMAIL else (0, 0)
    revenue = _amount(credit.revenue if credit else 0) or 0.0
    cost = _amount(costs.get((name, currency))) if channel == EMAIL and currency else None
    return {
        "campaign": name,
        "channel": channel,
        "currency": currency,
        "sends": sent,
        "clicks": clicks,
        "conversions": round((credit.conversions if credit else 0) / SCALE, 4),
        "revenue": revenue,
        "cost": cost,
        "roi": None if cost is None else _ratio(revenue - cost, cost),
        "revenue_per_email": _ratio(revenue, sent) if channel == EMAIL else None,
    }


def _totals(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per currency: what the mail earned and cost, and what other channels and no touch took."""
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["currency"] is None:
            continue
        total = totals.setdefault(
            row["currency"],
            {"revenue": 0.0, "cost": None, "roi": None, "other_channels": 0.0,
             "unattributed": 0.0, "conversions": 0.0},
        )  # fmt: skip
        if row["channel"] == EMAIL:
            total["revenue"] += row["revenue"]
            if row["cost"] is not None:
                total["cost"] = (total["cost"] or 0.0) + row["cost"]
        elif row["channel"] is None:
            total["unattributed"] += row["revenue"]
        else:
            total["other_channels"] += row["revenue"]
        total["conversions"] += row["conversions"]
    for total in totals.values():
        for name in ("revenue", "cost", "other_channels", "unattributed", "conversions"):
            if total[name] is not None:
                total[name] = round(total[name], 4)
        if total["cost"] is not None:
            total["roi"] = _ratio(total["revenue"] - total["cost"], total["cost"])
    return totals


def roi_report(
    session: Session, options: RoiOptions, models: Sequence[str] = ("last_touch",)
) -> dict[str, Any]:
    """Per model: the campaign rows and the totals per currency."""
    attribution = attribute(session, options, models)
    sends = _sends(session, options)
    active = {name for name, (sent, _clicks) in sends.items() if sent}
    for credit in attribution.credit.values():
        active.update(name for channel, name, _currency in credit if channel == EMAIL and name)
    costs = campaign_costs(
        session, options.start, options.end, options.monthly_costs, active=active
    )
    out: dict[str, Any] = {}
    for model in models:
        rows = _rows(attribution.credit[model], sends, costs, options.campaign)
        out[model] = {"campaigns": rows, "totals": _totals(rows)}
    return {
        "from": options.start.isoformat(),
        "to": options.end.isoformat(),
        "lookback_days": options.lookback_days,
        "half_life_days": options.half_life_days,
        "conversions_counted": attribution.conversions,
        "models": out,
    }
