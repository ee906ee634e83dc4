"""Login throttling: repeated wrong passwords slow down, then are refused for a while.

Failures are counted per user name (from any address: a distributed guess) and
per client address (for any name). Once either count within the window reaches
its limit, the next attempt must wait, twice as long after each further failure,
up to the window itself. A locked attempt is refused before the password is
checked and is not counted, so waiting out the lock is always enough. One client
can lock at most ``per_address / per_user`` users before its own address is
refused: it cannot lock every user out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from store.security import LoginFailure
from store.timestamps import as_utc

logger = logging.getLogger(__name__)

# The first lock lasts this long; each further failure doubles it.
FIRST_LOCK_SECONDS = 15


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures are free, and how long the window (and longest lock) is."""

    per_user: int = 5
    per_address: int = 20
    window_seconds: int = 900


def _lock_seconds(failures: int, limit: int, window: int) -> int:
    """How long after the latest failure the next attempt must wait (0: not locked)."""
    if failures < limit:
        return 0
    return int(min(window, FIRST_LOCK_SECONDS * 2 ** min(failures - limit, 20)))


def _remaining(
    session: Session,
    condition: ColumnElement[bool],
    limit: int,
    policy: ThrottlePolicy,
    now: datetime,
) -> int:
    since = now - timedelta(seconds=policy.window_seconds)
    count, latest = session.execute(
        select(func.count(), func.max(LoginFailure.failed_at)).where(
            condition, LoginFailure.failed_at > since
        )
    ).one()
    lock = _lock_seconds(int(count), limit, policy.window_seconds)
    if not lock or latest is None:
        return 0
    left = (as_utc(latest) + timedelta(seconds=lock) - now).total_seconds()
    return max(0, int(left + 0.999))


def _keys(username: str, address: str) -> tuple[str, str]:
    return username[:100], address[:64]


def seconds_locked(
    session: Session, username: str, address: str, policy: ThrottlePolicy, now: datetime
) -> int:
    """Seconds until ``username`` may try again from ``address`` (0: now)."""
    username, address = _keys(username, address)
    return max(
        _remaining(session, LoginFailure.username == username, policy.per_user, policy, now),
        _remaining(session, LoginFailure.address == address, policy.per_address, policy, now),
    )


def record_failure(
    session: Session, username: str, address: str, policy: ThrottlePolicy, now: datetime
) -> int:
    """Count a failed login; the lock it starts, in seconds (0: none), logged as a lockout."""
    username, address = _keys(username, address)
    # Failures older than the window no longer count: forget them as we go.
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.failed_at <= now - timedelta(seconds=policy.window_seconds)
        )
    )
    session.add(LoginFailure(username=username, address=address, failed_at=now))
    session.flush()
    locked = seconds_locked(session, username, address, policy, now)
    if locked:
        logger.warning(
            "login locked for %d s: user %r from %s after repeated failures",
            locked,
            username,
            address,
        )
    return locked


def clear_failures(session: Session, username: str) -> None:
    """Forget a user's failures once they signed in (their address's failures stay)."""
    session.execute(delete(LoginFailure).where(LoginFailure.username == username[:100]))
