"""Campaign engagement: unique opens and clicks, clicks per link, unsubscribes.

Unlike rates, unique counts need the events themselves (a recipient who
opens twice counts once), so this reads ``events`` for the window, grouped
by campaign in SQL. Opens an ESP marks as made by machines (Apple Mail
Privacy Protection, security scanners) are counted apart and left out of
the open rate.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from compliance.audit.rules import end_of
from compliance.rates.report import sums
from compliance.rates.window import DEFAULT_DAYS
from store.events import Event


def campaign_stats(
    session: Session, *, as_of: date, days: int = DEFAULT_DAYS, campaign: str | None = None
) -> list[dict[str, Any]]:
    """Engagement per campaign over the window, busiest first."""
    first = as_of - timedelta(days=days - 1)
    # The same window said twice: by the UTC day and by the time, on which PostgreSQL's
    # monthly partitions let the scan skip every month outside it.
    window = (Event.day >= first) & (Event.day <= as_of)
    window &= (Event.time >= end_of(first - timedelta(days=1))) & (Event.time < end_of(as_of))
    if campaign is not None:
        window &= Event.campaign == campaign

    def unique(condition: Any) -> Any:
        return func.count(distinct(case((condition, Event.recipient))))

    engagement = session.execute(
        select(
            Event.campaign,
            unique((Event.type == "open") & ~Event.machine).label("unique_opens"),
            func.sum(case(((Event.type == "open") & Event.machine, 1), else_=0)).label("machine"),
            unique(Event.type == "click").label("unique_clicks"),
            unique(Event.type == "unsubscribe").label("unsubscribed"),
        )
        .where(window)
        .group_by(Event.campaign)
    ).all()
    links: dict[str, list[dict[str, Any]]] = {}
    for name, url, clicks, clickers in session.execute(
        select(Event.campaign, Event.url, func.count(), func.count(distinct(Event.recipient)))
        .where(window, Event.type == "click", Event.url.is_not(None))
        .group_by(Event.campaign, Event.url)
        .order_by(func.count().desc())
    ):
        links.setdefault(name, []).append({"url": url, "clicks": clicks, "clickers": clickers})
    totals = {key[0]: value for key, value in sums(session, first, as_of, "campaign").items()}
    out = []
    for name, opens, machine, clicks, unsubscribed in engagement:
        delivered = totals[name].delivered if name in totals else 0

        def share(count: int, delivered: int = delivered) -> float | None:
            return round(count / delivered, 6) if delivered else None

        out.append(
            {
                "campaign": name or "(none)",
                "delivered": delivered,
                "unique_opens": opens,
                "unique_open_rate": share(opens),
                "machine_opens": int(machine or 0),
                "unique_clicks": clicks,
                "unique_click_rate": share(clicks),
                "unsubscribes": unsubscribed,
                "unsubscribe_rate": share(unsubscribed),
                "links": links.get(name, []),
            }
        )
    return sorted(out, key=lambda item: -item["delivered"])
