"""Spacing queries to one DNSBL so a sweep stays inside the list's free-use terms."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol


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


class Limiter(Protocol):
    """What a sweep waits on before each query to a zone."""

    async def acquire(self) -> None: ...


# Lease = (count) -> (first slot, now), both in seconds on the ledger's clock.
Lease = Callable[[int], tuple[float, float]]


class LeasedRateLimiter:
    """``rate`` acquisitions per second shared with other processes, through a ledger.

    The ledger hands out time slots one ``1/rate`` apart that no other
    process gets (``lease(count)``: ``count`` consecutive slots, the first one
    returned with the ledger's present time). Slots are leased in blocks of
    about half a second's worth, so the ledger is asked twice a second at
    most; a slot whose time has passed unused is dropped, never spent late,
    so no process ever asks in another's slot.
    """

    def __init__(self, rate: float, lease: Lease, *, block_seconds: float = 0.5) -> None:
        if rate <= 0:
            raise ValueError("rate must be greater than 0")
        self.interval = 1.0 / rate
        self.block = max(1, int(rate * block_seconds))
        self._lease = lease
        self._lock = asyncio.Lock()
        # The next leased slot, on the ledger's clock and on this loop's.
        self._slot = 0.0
        self._offset = 0.0  # loop time minus ledger time
        self._left = 0
        self.slots: list[float] = []  # every slot taken, on the ledger's clock

    async def acquire(self) -> None:
        """Wait for this caller's slot."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            while self._left and self._slot + self._offset < loop.time() - self.interval:
                self._slot += self.interval  # gone by unused: dropped
                self._left -= 1
            if not self._left:
                first, ledger_now = await asyncio.to_thread(self._lease, self.block)
                # Measured after the answer came back: waiting errs late, never early.
                self._offset = loop.time() - ledger_now
                self._slot, self._left = first, self.block
            slot = self._slot
            self._slot += self.interval
            self._left -= 1
            self.slots.append(slot)
        delay = slot + self._offset - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
