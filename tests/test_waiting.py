"""The shared wait of the tests: ``eventually()``."""

from __future__ import annotations

import itertools

import pytest

from tests.waiting import eventually


def test_it_returns_the_first_true_value() -> None:
    counter = itertools.count()
    assert eventually(lambda: next(counter) >= 3 and "done", interval=0) == "done"


def test_it_ignores_the_errors_it_is_told_to_until_the_condition_holds() -> None:
    attempts = itertools.count()

    def flaky() -> int:
        attempt = next(attempts)
        if attempt < 2:
            raise ConnectionError("not up yet")
        return attempt

    assert eventually(flaky, interval=0, ignoring=(ConnectionError,)) == 2


def test_it_fails_with_the_last_value_and_the_description() -> None:
    with pytest.raises(AssertionError, match=r"last 0; 3 of 5 imported"):
        eventually(lambda: 0, timeout=0.05, interval=0.01, describe=lambda: "3 of 5 imported")


def test_an_error_it_is_not_told_to_ignore_is_raised() -> None:
    empty: dict[str, int] = {}
    with pytest.raises(KeyError):
        eventually(lambda: empty["x"], timeout=1)
