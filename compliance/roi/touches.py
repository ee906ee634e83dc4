"""The touches before each conversion, gathered by one SQL query over the events.

Email touches are clicks (and, when asked, opens people made; machine
opens never) of the converting address within the lookback window before
the conversion; touches on other channels come from ``touchpoints``. Rows
arrive ordered by conversion, then by touch time, and are streamed: memory
holds one conversion's touches at a time. Conversions without any touch
are not among them: :func:`conversion_totals` gives the value and number
of all conversions, and what the touched ones do not account for is
reported as unattributed (never dropped).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain, groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.conversions import Conversion

EMAIL = "email"


@dataclass(frozen=True, slots=True)
class Touches:
    """One conversion and the touches before it, oldest first."""

    value: int
    currency: str
    # Seconds before the conversion, per touch.
    ages: list[float]
    # (channel, campaign or None), per touch.
    keys: list[tuple[str, str | None]]


def _expressions(dialect: str) -> tuple[str, str]:
    """The SQL of (the window's start for conversion ``c``, the age in seconds of touch ``{t}``)."""
    if dialect == "postgresql":
        return (
            "c.time - make_interval(secs => :lookback)",
            "EXTRACT(EPOCH FROM (c.time - {t}.time))",
        )
    # SQLite keeps times as text in UTC; datetime() and julianday() read it.
    return (
        "datetime(c.time, '-' || :lookback || ' seconds')",
        "(julianday(c.time) - julianday({t}.time)) * 86400.0",
    )


def touch_query(dialect: str, opens: bool) -> str:
    """The SQL (in the driver's parameter style): touches of the conversions in [start, end),
    by conversion, oldest first."""

    def mark(name: str) -> str:
        return f":{name}" if dialect == "sqlite" else f"%({name})s"

    start, age = _expressions(dialect)
    start = start.replace(":lookback", mark("lookback"))
    kinds = "e.type = 'click'"
    if opens:
        kinds = f"({kinds} OR (e.type = 'open' AND e.machine = {mark('no')}))"
    window = f"c.time >= {mark('start')} AND c.time < {mark('end')}"
    email = (
        f"SELECT c.id, c.value, c.currency, {age.format(t='e')} AS age, "
        f"'{EMAIL}' AS channel, e.campaign AS campaign "
        "FROM conversions c JOIN events e ON e.recipient = c.email "
        f"WHERE {window} AND {kinds} AND e.time <= c.time AND e.time >= {start}"
    )
    other = (
        f"SELECT c.id, c.value, c.currency, {age.format(t='t')}, t.channel, t.campaign "
        "FROM conversions c JOIN touchpoints t ON t.email = c.email "
        f"WHERE {window} AND t.time <= c.time AND t.time >= {start}"
    )
    # Oldest touch first: the largest age first.
    return f"{email} UNION ALL {other} ORDER BY 1, 4 DESC, 5, 6"


def _parameters(dialect: str, start: datetime, end: datetime, lookback_days: int) -> dict[str, Any]:
    if dialect == "sqlite":
        # As SQLAlchemy stores them: UTC text, which compares in time order.
        return {
            "start": stored_time(start),
            "end": stored_time(end),
            "lookback": lookback_days * 86400,
            "no": 0,
        }
    return {"start": start, "end": end, "lookback": lookback_days * 86400, "no": False}


def stored_time(moment: datetime) -> str:
    """A time as SQLite holds it (UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def gather_touches(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    lookback_days: int,
    opens: bool = False,
) -> Iterator[Touches]:
    """Each conversion with time in [start, end) that has a touch, and its touches, in turn.

    Read through the driver's cursor (server-side on PostgreSQL): SQLAlchemy's
    rows cost more than the models on every touch of a large window.
    """
    dialect = session.get_bind().dialect.name
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor(name="roi_touches") if dialect == "postgresql" else raw.cursor()
    try:
        cursor.execute(touch_query(dialect, opens), _parameters(dialect, start, end, lookback_days))
        rows = chain.from_iterable(iter(lambda: cursor.fetchmany(10_000), []))
        for _cid, group in groupby(rows, key=itemgetter(0)):
            ages: list[float] = []
            keys: list[tuple[str, str | None]] = []
            for row in group:
                # julianday() rounding can put a touch at the conversion's instant just after it.
                ages.append(max(float(row[3]), 0.0))
                keys.append((row[4], row[5] or None))
            yield Touches(int(row[1]), str(row[2]), ages, keys)
    finally:
        cursor.close()


def conversion_totals(
    session: Session, start: datetime, end: datetime
) -> dict[str, tuple[int, int]]:
    """Per currency: the value and the number of the conversions in [start, end)."""
    rows = session.execute(
        select(Conversion.currency, func.sum(Conversion.value), func.count())
        .where(Conversion.time >= start, Conversion.time < end)
        .group_by(Conversion.currency)
    )
    return {currency: (int(value or 0), int(count)) for currency, value, count in rows}
