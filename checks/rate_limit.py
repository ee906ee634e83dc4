"""Spacing queries to one DNSBL so a sweep stays inside the list's free-use terms."""

from __future__ import annotations

import asyncio


class RateLimiter:
    """At most ``rate`` acquisitions per second, spread evenly instead of in bursts.

    Each caller reserves the next free slot (one every ``1/rate`` seconds)
    and sleeps until it; a limiter idle for a while starts again at once.
    """

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be greater than 0")
        self.interval = 1.0 / rate
        self._next_slot = 0.0

    async def acquire(self) -> None:
        """Wait for this caller's slot."""
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)
