"""The five attribution models, on literal inputs and as properties over any inputs."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.roi.attribution import (
    CREDIT,
    MODELS,
    SCALE,
    apportion,
    first_touch,
    last_touch,
    linear,
    position_based,
    time_decay,
)

DAY = 86400.0
EUR = SCALE  # one euro in the units the models count in


def test_a_200_eur_purchase_after_ten_touches_gives_each_20_eur_under_linear() -> None:
    ages = [DAY * n for n in range(10, 0, -1)]
    assert linear(200 * EUR, ages) == [20 * EUR] * 10


def test_linear_gives_the_spare_units_to_the_latest_touches() -> None:
    assert linear(100 * EUR, [3 * DAY, 2 * DAY, DAY]) == [333_333, 333_333, 333_334]
    assert linear(5, [4.0, 3.0, 2.0, 1.0]) == [1, 1, 1, 2]


def test_first_and_last_touch_give_everything_to_one_end() -> None:
    ages = [3 * DAY, 2 * DAY, DAY]
    assert first_touch(90 * EUR, ages) == [90 * EUR, 0, 0]
    assert last_touch(90 * EUR, ages) == [0, 0, 90 * EUR]


def test_position_based_gives_40_percent_to_each_end_and_20_to_the_middle() -> None:
    ages = [4 * DAY, 3 * DAY, 2 * DAY, DAY]
    assert position_based(100 * EUR, ages) == [40 * EUR, 10 * EUR, 10 * EUR, 40 * EUR]
    assert position_based(100 * EUR, [2 * DAY, DAY]) == [50 * EUR, 50 * EUR]
    assert position_based(100 * EUR, [DAY]) == [100 * EUR]
    assert position_based(100 * EUR, [3 * DAY, 2 * DAY, DAY]) == [40 * EUR, 20 * EUR, 40 * EUR]


def test_time_decay_halves_the_credit_every_half_life() -> None:
    # Ages 14, 7 and 0 days with a 7-day half-life: weights 1, 2, 4.
    assert time_decay(70 * EUR, [14 * DAY, 7 * DAY, 0.0], 7 * DAY) == [
        10 * EUR,
        20 * EUR,
        40 * EUR,
    ]


def test_time_decay_still_splits_touches_far_older_than_the_half_life() -> None:
    # 2^-(1000 days / 1 hour) underflows a float: weights are taken relative to the newest.
    assert time_decay(10 * EUR, [1000 * DAY, 999 * DAY], 3600.0) == [0, 10 * EUR]


def test_apportion_gives_leftover_units_to_the_largest_remainders() -> None:
    # 10 over 1:1:1 leaves 1 unit; equal remainders, so the last position takes it.
    assert apportion(10, [1, 1, 1]) == [3, 3, 4]
    # 7 over 1:2:4 splits exactly.
    assert apportion(7, [1, 2, 4]) == [1, 2, 4]
    # 10 over 1:2 = 3.33 / 6.67: the larger remainder (0.67) takes the spare unit.
    assert apportion(10, [1, 2]) == [3, 7]
    assert apportion(6, [0, 0]) == [3, 3]


def test_apportion_refuses_nothing_to_split_over() -> None:
    with pytest.raises(ValueError, match="nothing to apportion"):
        apportion(5, [])


touch_ages = st.lists(st.floats(min_value=0, max_value=90 * DAY), min_size=1, max_size=40).map(
    lambda ages: sorted(ages, reverse=True)
)
values = st.integers(min_value=0, max_value=10**16)
half_lives = st.floats(min_value=60.0, max_value=365 * DAY)
# Tests assert behaviour, never time: no deadline per example on a loaded machine.
untimed = settings(deadline=None)


@untimed
@given(values, touch_ages, half_lives, st.sampled_from(MODELS))
def test_every_model_splits_a_value_exactly_into_non_negative_credits(
    value: int, ages: list[float], half_life: float, model: str
) -> None:
    credits = CREDIT[model](value, ages, half_life)
    assert len(credits) == len(ages)
    assert sum(credits) == value
    assert all(credit >= 0 for credit in credits)


@untimed
@given(values, touch_ages)
def test_linear_credits_differ_by_at_most_one_unit(value: int, ages: list[float]) -> None:
    credits = linear(value, ages)
    assert max(credits) - min(credits) <= 1


@untimed
@given(values, touch_ages, half_lives)
def test_time_decay_never_gives_an_older_touch_more_than_a_newer_one(
    value: int, ages: list[float], half_life: float
) -> None:
    credits = time_decay(value, ages, half_life)
    # Oldest first; rounding may move one unit, no more.
    assert all(a <= b + 1 for a, b in pairwise(credits))


@untimed
@given(st.integers(min_value=0, max_value=10**12), st.lists(st.integers(0, 10**6), min_size=1))
def test_apportion_sums_exactly_and_stays_within_one_unit_of_the_exact_share(
    value: int, weights: list[int]
) -> None:
    shares = apportion(value, weights)
    assert sum(shares) == value
    total = sum(weights) or len(weights)
    for share, weight in zip(shares, weights if sum(weights) else [1] * len(weights), strict=True):
        assert abs(share * total - value * weight) < total
