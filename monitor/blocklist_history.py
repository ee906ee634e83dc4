"""The blocklist history: the latest verdict per target and zone, and listing episodes.

``record_listings`` keeps, per target and zone, the latest verdict and the
episodes of being listed (when it started, when it ended, so how long it
lasted); ``recent_listings`` hands verdicts checked within the re-check
interval back to the next run, so a large fleet does not ask a list about
the same address more often than its terms allow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from checks.results import BlocklistResult, Listing
from store.models import ListingEpisode, ListingState
from store.timestamps import as_utc

# Verdicts worth reusing: errors and unhealthy zones are asked again.
_DEFINITE = ("listed", "clear")


def recent_listings(
    session: Session, targets: Iterable[str], now: datetime, interval: timedelta
) -> dict[tuple[str, str], Listing]:
    """Definite verdicts checked after ``now - interval``, by (target, zone).

    Strictly after: a sweep scheduled every ``interval`` asks again.
    """
    names = list(targets)
    if not names or interval <= timedelta(0):
        return {}
    rows = session.scalars(
        select(ListingState).where(
            ListingState.target.in_(names),
            ListingState.checked_at > now - interval,
            ListingState.state.in_(_DEFINITE),
        )
    )
    return {
        (row.target, row.zone): Listing(
            zone=row.zone,
            name=row.name,
            listed=row.listed,
            codes=tuple(row.codes),
            meanings=tuple(row.meanings),
            reason=row.reason,
            state=row.state,
            impact=row.impact,
            delist_url=row.delist_url,
            cached_at=as_utc(row.checked_at).replace(microsecond=0).isoformat(),
        )
        for row in rows
    }


def record_listings(session: Session, results: Mapping[str, BlocklistResult], at: datetime) -> None:
    """Move each (target, zone) state forward and open or close listing episodes."""
    fresh = [
        (target, listing)
        for target, result in results.items()
        for listing in result.listings
        if listing.cached_at is None
    ]
    if not fresh:
        return
    targets = list(results)
    states = {
        (row.target, row.zone): row
        for row in session.scalars(select(ListingState).where(ListingState.target.in_(targets)))
    }
    episodes = {
        (row.target, row.zone): row
        for row in session.scalars(
            select(ListingEpisode).where(
                ListingEpisode.target.in_(targets), ListingEpisode.delisted_at.is_(None)
            )
        )
    }
    for target, listing in fresh:
        key = (target, listing.zone)
        _update_state(session, states.get(key), target, listing, at)
        episode = episodes.get(key)
        if listing.listed and episode is None:
            session.add(
                ListingEpisode(
                    target=target,
                    zone=listing.zone,
                    listed_at=at,
                    last_seen_at=at,
                    codes=list(listing.codes),
                    reason=listing.reason,
                )
            )
        elif listing.listed and episode is not None:
            episode.last_seen_at = at
            episode.codes, episode.reason = list(listing.codes), listing.reason
        elif listing.listed is False and episode is not None:
            episode.delisted_at = at
    session.flush()


def _update_state(
    session: Session, row: ListingState | None, target: str, listing: Listing, at: datetime
) -> None:
    if row is None:
        row = ListingState(target=target, zone=listing.zone, since=at)
        session.add(row)
    elif row.state != listing.state:
        row.since = at
    row.name, row.state, row.listed = listing.name, listing.state, listing.listed
    row.codes, row.meanings = list(listing.codes), list(listing.meanings)
    row.reason, row.impact, row.delist_url = listing.reason, listing.impact, listing.delist_url
    row.checked_at = at


def listing_history(
    session: Session, target: str | None = None, *, open_only: bool = False
) -> list[ListingEpisode]:
    """Listing episodes, newest first; of one target, or still open, if asked."""
    query = select(ListingEpisode).order_by(ListingEpisode.listed_at.desc(), ListingEpisode.id)
    if target is not None:
        query = query.where(ListingEpisode.target == target)
    if open_only:
        query = query.where(ListingEpisode.delisted_at.is_(None))
    return list(session.scalars(query))
