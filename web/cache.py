"""A short-lived per-process cache for what is costly to compute and changes slowly.

Check results change when a sweep runs (every 30 minutes by default), so
the overview's figures are reused for a few seconds instead of recomputed
for every request of every user; writes made through the app clear it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app

T = TypeVar("T")
SECONDS = 10.0


def _store() -> tuple[threading.Lock, dict[Any, tuple[float, Any]]]:
    store: tuple[threading.Lock, dict[Any, tuple[float, Any]]] = current_app.extensions.setdefault(
        "postwarden.cache", (threading.Lock(), {})
    )
    return store


def cached(key: Any, compute: Callable[[], T], seconds: float = SECONDS) -> T:
    """``compute()``'s value, reused for ``seconds`` under ``key``."""
    lock, entries = _store()
    now = time.monotonic()
    with lock:
        hit = entries.get(key)
        if hit is not None and hit[0] > now:
            value: T = hit[1]
            return value
    value = compute()
    with lock:
        entries[key] = (now + seconds, value)
    return value


def clear() -> None:
    """Forget everything (after a write through the app)."""
    lock, entries = _store()
    with lock:
        entries.clear()
