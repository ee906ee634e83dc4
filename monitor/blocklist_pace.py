"""One blocklist query rate for every worker together: slots leased from PostgreSQL.

A zone's ``queries_per_second`` is the list operator's term for the whole
sender, not per process. Each zone has a row in ``blocklist_pace`` holding
the next free slot on the database's clock; a worker takes a block of
consecutive slots with one atomic upsert, so no two workers ever hold the
same slot, whether there are one or thirty of them and however they come and
go. This is exact where dividing the rate by the live workers is not (a
worker joining or leaving mid-sweep would push the sum over the rate), and it
costs one round trip per half second of queries per zone and worker.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, text

from checks.rate_limit import Lease, LeasedRateLimiter, Limiter

_LEASE = text(
    """
    INSERT INTO blocklist_pace AS pace (zone, next_slot)
    VALUES (:zone, extract(epoch FROM clock_timestamp()) + :span)
    ON CONFLICT (zone) DO UPDATE
      SET next_slot = greatest(pace.next_slot, extract(epoch FROM clock_timestamp())) + :span
    RETURNING pace.next_slot - :span AS first, extract(epoch FROM clock_timestamp()) AS now
    """
)


def lease_from(engine: Engine, zone: str, rate: float) -> Lease:
    """``count`` slots of ``zone`` at ``rate`` per second, reserved in ``blocklist_pace``."""

    def lease(count: int) -> tuple[float, float]:
        with engine.begin() as connection:
            row = connection.execute(_LEASE, {"zone": zone, "span": count / rate}).one()
        return float(row.first), float(row.now)

    return lease


def shared_pace(engine: Engine) -> Callable[[str, float], Limiter]:
    """A ``BlocklistPlan.pace`` whose limits hold across every process on ``engine``."""

    def pace(zone: str, rate: float) -> Limiter:
        return LeasedRateLimiter(rate, lease_from(engine, zone, rate))

    return pace
