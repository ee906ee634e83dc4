"""The touches before each conversion, gathered by one SQL query over the events.

Email touches are clicks (and, when asked, opens people made; machine
opens never) of the converting address within the lookback window before
the conversion; touches on other channels come from ``touchpoints``. Every
conversion in the window also comes once without a touch, so one with no
touch at all is still seen (and reported as unattributed, never dropped).
Rows arrive ordered by conversion, then by touch time, and are streamed:
memory holds one conversion's touches at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.orm import Session

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


def touch_query(dialect: str, opens: bool) -> Any:
    """The statement: conversions in [:start, :end) with their touches, ordered."""
    start, age = _expressions(dialect)
    kinds = "e.type = 'click'"
    if opens:
        kinds = f"({kinds} OR (e.type = 'open' AND e.machine = :no))"
    email = (
        f"SELECT c.id AS cid, c.value, c.currency, {age.format(t='e')} AS age, "
        f"'{EMAIL}' AS channel, e.campaign AS campaign "
        "FROM conversions c JOIN events e ON e.recipient = c.email "
        f"WHERE c.time >= :start AND c.time < :end AND {kinds} "
        f"AND e.time <= c.time AND e.time >= {start}"
    )
    other = (
        f"SELECT c.id, c.value, c.currency, {age.format(t='t')}, t.channel, t.campaign "
        "FROM conversions c JOIN touchpoints t ON t.email = c.email "
        "WHERE c.time >= :start AND c.time < :end "
        f"AND t.time <= c.time AND t.time >= {start}"
    )
    bare = (
        "SELECT c.id, c.value, c.currency, NULL, NULL, NULL FROM conversions c "
        "WHERE c.time >= :start AND c.time < :end"
    )
    # Oldest touch first: the largest age first; the bare row (NULL age) is skipped.
    sql = f"{email} UNION ALL {other} UNION ALL {bare} ORDER BY 1, 4 DESC, 5, 6"
    statement = text(sql).bindparams(
        bindparam("start", type_=DateTime(timezone=True)),
        bindparam("end", type_=DateTime(timezone=True)),
    )
    return statement


def gather_touches(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    lookback_days: int,
    opens: bool = False,
) -> Iterator[Touches]:
    """Each conversion with time in [start, end) and its touches, one at a time."""
    statement = touch_query(session.get_bind().dialect.name, opens)
    parameters: dict[str, Any] = {
        "start": start,
        "end": end,
        "lookback": lookback_days * 86400,
    }
    if opens:
        parameters["no"] = False
    result = session.connection().execution_options(stream_results=True, yield_per=10_000)
    rows = result.execute(statement, parameters)
    for _cid, group in groupby(rows, key=itemgetter(0)):
        ages: list[float] = []
        keys: list[tuple[str, str | None]] = []
        first = None
        for row in group:
            first = first or row
            if row[3] is not None:
                # julianday() rounding can put a touch at the conversion's instant just after it.
                ages.append(max(float(row[3]), 0.0))
                keys.append((row[4], row[5] or None))
        assert first is not None  # groupby yields no empty group
        yield Touches(int(first[1]), str(first[2]), ages, keys)
