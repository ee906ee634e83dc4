"""The five attribution models: how a conversion's value is split over the touches before it.

Each model is a pure function of the value (an integer in the smallest unit
counted, see :data:`SCALE`) and the touches' ages in seconds before the
conversion, oldest first; it returns one integer credit per touch, and the
credits always sum to the value exactly. Splitting an integer exactly needs
a rule for the units left over after the proportional shares are rounded
down: they go one each to the touches with the largest remainders (the
largest-remainder method), and on equal remainders to the later touch, the
one nearer the conversion. A 200 EUR purchase after ten touches gives each
20 EUR under ``linear``; 100 EUR after three gives 33.3333, 33.3333 and
33.3334 (the last touch takes the spare ten-thousandth).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

# Amounts are counted in ten-thousandths of the currency unit (and a
# conversion in ten-thousandths of one), so that every split is exact integers.
SCALE = 10_000
MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based")
# Weights of the time-decay model are made integers with this many bits of precision.
_DECAY_BITS = 40


def apportion(value: int, weights: Sequence[int]) -> list[int]:
    """``value`` split into integer parts proportional to ``weights``, summing to ``value``.

    Units left after rounding down go to the largest remainders, the later
    position first on a tie. All-zero weights split evenly.
    """
    if not weights:
        raise ValueError("nothing to apportion over")
    total = sum(weights)
    if total <= 0:
        weights, total = [1] * len(weights), len(weights)
    shares = [value * weight // total for weight in weights]
    left = value - sum(shares)
    if left:
        order = sorted(
            range(len(weights)), key=lambda i: (value * weights[i] % total, i), reverse=True
        )
        for index in order[:left]:
            shares[index] += 1
    return shares


def first_touch(value: int, ages: Sequence[float], half_life: float = 0.0) -> list[int]:
    """All the credit to the oldest touch."""
    return [value] + [0] * (len(ages) - 1)


def last_touch(value: int, ages: Sequence[float], half_life: float = 0.0) -> list[int]:
    """All the credit to the touch nearest the conversion."""
    return [0] * (len(ages) - 1) + [value]


def linear(value: int, ages: Sequence[float], half_life: float = 0.0) -> list[int]:
    """The same credit to every touch (spare units to the latest ones)."""
    count = len(ages)
    share, left = divmod(value, count)
    return [share] * (count - left) + [share + 1] * left


def time_decay(value: int, ages: Sequence[float], half_life: float) -> list[int]:
    """Credit halving with every ``half_life`` seconds a touch lies before the conversion."""
    if len(ages) == 1:
        return [value]
    if half_life <= 0:
        raise ValueError("half_life must be positive")
    # Relative to the newest touch, so that old touches never all underflow to 0.
    newest = min(ages)
    weights = [round(2.0 ** (_DECAY_BITS - (age - newest) / half_life)) for age in ages]
    return apportion(value, weights)


def position_based(value: int, ages: Sequence[float], half_life: float = 0.0) -> list[int]:
    """40% to the first touch, 40% to the last, 20% spread over those between.

    One touch takes everything; two take half each.
    """
    count = len(ages)
    if count == 1:
        return [value]
    if count == 2:
        return apportion(value, [1, 1])
    middle = count - 2
    # 40% / (20% / middle) / 40%, in integers: 40·middle, 20 each, 40·middle.
    return apportion(value, [40 * middle] + [20] * middle + [40 * middle])


CREDIT: dict[str, Callable[[int, Sequence[float], float], list[int]]] = {
    "first_touch": first_touch,
    "last_touch": last_touch,
    "linear": linear,
    "time_decay": time_decay,
    "position_based": position_based,
}
