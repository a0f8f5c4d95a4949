"""Reviewer worth from outcomes (``protocol.worth``): hits and misses, log-odds, pivotal."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsed_graph.protocol.worth import (
    WORTH_CAP,
    add_outcomes,
    pivotal_reviewers,
    reviewer_worth,
    score_outcomes,
)

counts = st.integers(min_value=0, max_value=10_000)
accuracy = st.floats(min_value=0.01, max_value=0.99)
strength = st.floats(min_value=0.0, max_value=100.0)


def test_a_score_is_a_hit_when_its_sign_is_right_about_the_candidate() -> None:
    weights = {
        "r": {"right": 80.0, "wrong": -20.0, "unknown": 50.0},
        "s": {"right": -5.0, "wrong": 0.0},
        "t": {"wrong": 0.0},
    }
    known = {"right": True, "wrong": False}
    assert score_outcomes(weights, known) == {"r": (2, 0), "s": (0, 1)}
    assert score_outcomes(weights, known, skip={"r"}) == {"s": (0, 1)}


def test_endorsing_everything_earns_no_worth_on_a_contested_table() -> None:
    weights = {"yes-man": {"right": 100.0, "wrong": 100.0}}
    hits, misses = score_outcomes(weights, {"right": True, "wrong": False})["yes-man"]
    assert reviewer_worth(hits * 50, misses * 50, prior_accuracy=0.5, prior_strength=10) == 0.0
    # only the prior's pull is left, and it fades with every score
    assert reviewer_worth(hits * 50, misses * 50, prior_accuracy=0.6, prior_strength=10) < 0.04


def test_worth_is_the_log_odds_of_the_shrunk_accuracy() -> None:
    assert reviewer_worth(30, 10, prior_accuracy=0.5, prior_strength=0) == math.log(3)
    assert reviewer_worth(0, 0, prior_accuracy=0.6, prior_strength=10) == pytest.approx(
        math.log(1.5)
    )
    assert reviewer_worth(0, 0, prior_accuracy=0.6, prior_strength=0) == pytest.approx(
        math.log(1.5)
    )
    assert reviewer_worth(5, 0, prior_accuracy=0.5, prior_strength=0) == WORTH_CAP


@given(counts, counts, accuracy, strength)
def test_worth_is_zero_at_or_below_chance_and_bounded(
    hits: int, misses: int, p0: float, k: float
) -> None:
    worth = reviewer_worth(hits, misses, prior_accuracy=p0, prior_strength=k)
    assert 0.0 <= worth <= WORTH_CAP
    if hits <= misses and p0 <= 0.5:
        assert worth == 0.0


@given(counts, counts, accuracy, strength)
def test_one_more_hit_never_lowers_worth_and_one_more_miss_never_raises_it(
    hits: int, misses: int, p0: float, k: float
) -> None:
    worth = reviewer_worth(hits, misses, prior_accuracy=p0, prior_strength=k)
    assert reviewer_worth(hits + 1, misses, prior_accuracy=p0, prior_strength=k) >= worth
    assert reviewer_worth(hits, misses + 1, prior_accuracy=p0, prior_strength=k) <= worth


def test_outcomes_add_up_over_rounds() -> None:
    assert add_outcomes([{"a": (1, 2)}, {"a": (3, 0), "b": (0, 1)}]) == {"a": (4, 2), "b": (0, 1)}


def test_a_reviewer_is_pivotal_when_the_answer_changes_without_it() -> None:
    without = {"a": "41", "b": "42", "c": "42"}
    assert pivotal_reviewers(["a", "b", "c"], "42", without.__getitem__) == ["a"]
