"""What the mail cost per campaign: imported costs, and monthly costs spread by sends.

A cost that names a campaign is that campaign's, in reports where the
campaign was sent or earned (when it also names a month: in reports that
reach that month). A month's cost (an
imported row with an empty campaign, or ``[roi] monthly_costs``) counts in
every report that reaches that month, and is spread over the campaigns
sent that month in proportion to their sends, exactly (largest
remainders). A month with no sends keeps its cost on the row of
campaign null.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from compliance.roi.attribution import SCALE, apportion
from store.conversions import CampaignCost
from store.events import EventDay


def months_between(start: date, end: date) -> list[str]:
    """The months ``YYYY-MM`` that [start, end] reaches."""
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def parse_monthly_cost(text: str) -> tuple[int, str]:
    """``"500 EUR"`` as (5,000,000 ten-thousandths, "EUR")."""
    amount, currency = text.split()
    whole, _, fraction = amount.partition(".")
    return int(whole) * SCALE + int(fraction.ljust(4, "0") or 0), currency


def _sends_by_month(session: Session, months: Sequence[str]) -> dict[str, dict[str, int]]:
    """Sends per campaign in each month."""
    first = date.fromisoformat(f"{months[0]}-01")
    last_year, last_month = map(int, months[-1].split("-"))
    after = date(last_year + (last_month == 12), last_month % 12 + 1, 1)
    rows = session.execute(
        select(EventDay.day, EventDay.campaign, func.sum(EventDay.sent))
        .where(EventDay.day >= first, EventDay.day < after, EventDay.sent > 0)
        .group_by(EventDay.day, EventDay.campaign)
    )
    sends: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, campaign, sent in rows:
        sends[day.strftime("%Y-%m")][campaign] += int(sent)
    return sends


def campaign_costs(
    session: Session,
    start: date,
    end: date,
    monthly_costs: Sequence[str] = (),
    active: Collection[str] = (),
) -> dict[tuple[str | None, str], int]:
    """Cost per (campaign or None, currency), in ten-thousandths, for a report of [start, end].

    ``active``: the campaigns sent or credited in the window, whose undated costs count.
    """
    months = months_between(start, end)
    costs: dict[tuple[str | None, str], int] = defaultdict(int)
    monthly: list[tuple[str, int, str]] = [
        (month, *parse_monthly_cost(text)) for month in months for text in monthly_costs
    ]
    for campaign, month, amount, currency in session.execute(
        select(
            CampaignCost.campaign, CampaignCost.month, CampaignCost.amount, CampaignCost.currency
        ).where((CampaignCost.month == "") | CampaignCost.month.in_(months))
    ):
        if campaign:
            if month or campaign in active:
                costs[(campaign, currency)] += amount
        else:
            monthly.append((month, amount, currency))
    if monthly:
        sends = _sends_by_month(session, months)
        for month, amount, currency in monthly:
            campaigns = sorted(sends.get(month, {}).items())
            if not campaigns:
                costs[(None, currency)] += amount
                continue
            shares = apportion(amount, [sent for _name, sent in campaigns])
            for (name, _sent), share in zip(campaigns, shares, strict=True):
                costs[(name or None, currency)] += share
    return dict(costs)
