"""Waiting for something that happens in another thread or process: ``eventually()``.

Tests never sleep a fixed time for a thing to be done; they ask until it is, with a
deadline. (A fixed sleep stays only where a test must let time pass on purpose, to see
that something does *not* happen; each says so.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    condition: Callable[[], T],
    *,
    timeout: float = 30.0,
    interval: float = 0.05,
    ignoring: tuple[type[BaseException], ...] = (),
    describe: Callable[[], str] | None = None,
) -> T:
    """Call ``condition`` until it returns something true, and return that.

    An exception in ``ignoring`` counts as "not yet". After ``timeout`` seconds an
    ``AssertionError`` says what the condition last returned (or raised), followed by
    ``describe()`` (a log, a count) when given.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except ignoring as error:
            last: object = error
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            detail = f"; {describe()}" if describe else ""
            raise AssertionError(f"not so after {timeout:g} s: last {last!r}{detail}")
        time.sleep(interval)
