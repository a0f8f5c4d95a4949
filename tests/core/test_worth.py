"""Reviewer worth from outcomes (``protocol.worth``): balanced accuracy, log-odds, pivotal."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsed_graph.protocol.voting import tally
from nsed_graph.protocol.worth import (
    WORTH_CAP,
    add_outcomes,
    balanced_accuracy,
    pivotal_reviewers,
    reviewer_worth,
    score_outcomes,
)

PRIOR = {"prior_accuracy": 0.6, "prior_strength": 10.0}
counts = st.integers(min_value=0, max_value=1000)
accuracy = st.floats(min_value=0.01, max_value=0.99)
strength = st.floats(min_value=0.0, max_value=100.0)


@st.composite
def outcomes(draw: st.DrawFn) -> tuple[int, int, int, int]:
    seen_right, seen_wrong = draw(counts), draw(counts)
    endorsed = draw(st.integers(min_value=0, max_value=seen_right))
    rejected = draw(st.integers(min_value=0, max_value=seen_wrong))
    return endorsed, seen_right, rejected, seen_wrong


def test_scores_count_on_the_side_of_the_candidate_they_judged() -> None:
    weights = {
        "r": {"right": 80.0, "wrong": -20.0, "unknown": 50.0},
        "s": {"right": -5.0, "wrong": 0.0},
        "t": {"wrong": 0.0},
    }
    known = {"right": True, "wrong": False}
    assert score_outcomes(weights, known) == {"r": (1, 1, 1, 1), "s": (0, 1, 0, 0)}
    assert score_outcomes(weights, known, skip={"r"}) == {"s": (0, 1, 0, 0)}


def test_endorsing_or_rejecting_everything_earns_no_worth_whatever_the_table() -> None:
    # mostly wrong answers: rejecting everything is right 9 times in 10, and worth nothing
    rejecter = (0, 10, 90, 90)
    endorser = (90, 90, 0, 10)  # mostly right answers
    for outcome in (rejecter, endorser):
        assert balanced_accuracy(outcome, prior_accuracy=0.5, prior_strength=0) == 0.5
        assert reviewer_worth(outcome, **PRIOR) < reviewer_worth((0, 0, 0, 0), **PRIOR)
    # with evidence on both sides, only the prior's fading pull is left
    assert reviewer_worth((0, 1000, 1000, 1000), **PRIOR) < 0.01


def test_worth_is_the_log_odds_of_the_shrunk_balanced_accuracy() -> None:
    three_in_five = (60, 100, 60, 100)
    assert reviewer_worth(three_in_five, prior_accuracy=0.5, prior_strength=0) == pytest.approx(
        math.log(1.5)
    )
    three_in_four = (30, 40, 30, 40)  # ln 3 > 1: no reviewer counts more than a full vote
    assert reviewer_worth(three_in_four, prior_accuracy=0.5, prior_strength=0) == WORTH_CAP
    assert reviewer_worth((0, 0, 0, 0), **PRIOR) == pytest.approx(math.log(1.5))
    assert reviewer_worth((0, 0, 0, 0), prior_accuracy=0.6, prior_strength=0) == pytest.approx(
        math.log(1.5)
    )
    assert reviewer_worth((5, 5, 5, 5), prior_accuracy=0.5, prior_strength=0) == WORTH_CAP


@given(outcomes(), accuracy, strength)
def test_worth_is_zero_at_or_below_chance_and_bounded(
    outcome: tuple[int, int, int, int], p0: float, k: float
) -> None:
    worth = reviewer_worth(outcome, prior_accuracy=p0, prior_strength=k)
    assert 0.0 <= worth <= WORTH_CAP
    p = balanced_accuracy(outcome, prior_accuracy=p0, prior_strength=k)
    if p <= 0.5:
        assert worth == 0.0


@given(outcomes(), accuracy, strength)
def test_a_right_call_never_lowers_worth_and_a_wrong_one_never_raises_it(
    outcome: tuple[int, int, int, int], p0: float, k: float
) -> None:
    endorsed, seen_right, rejected, seen_wrong = outcome
    worth = reviewer_worth(outcome, prior_accuracy=p0, prior_strength=k)
    better = (endorsed + 1, seen_right + 1, rejected, seen_wrong)
    worse = (endorsed, seen_right, rejected, seen_wrong + 1)
    assert reviewer_worth(better, prior_accuracy=p0, prior_strength=k) >= worth - 1e-12
    assert reviewer_worth(worse, prior_accuracy=p0, prior_strength=k) <= worth + 1e-12


def test_outcomes_add_up_over_rounds() -> None:
    summed = add_outcomes([{"a": (1, 2, 0, 1)}, {"a": (3, 3, 1, 1), "b": (0, 1, 0, 0)}])
    assert summed == {"a": (4, 5, 1, 2), "b": (0, 1, 0, 0)}


def test_a_reviewer_is_pivotal_when_the_answer_changes_without_it() -> None:
    without = {"a": "41", "b": "42", "c": "42"}
    assert pivotal_reviewers(["a", "b", "c"], "42", without.__getitem__) == ["a"]


def test_a_silent_reviewer_does_not_dilute_the_reviewers_that_count() -> None:
    weights = {"loud": {"x": 100.0, "y": -100.0}, "silent": {"x": -100.0, "y": 100.0}}
    heard = tally(weights, ["x", "y"], reliability={"loud": 1.0, "silent": 0.0})
    alone = tally({"loud": weights["loud"]}, ["x", "y"])
    assert heard.supports == alone.supports
    assert heard.reviewers == {"x": 1, "y": 1}
    nobody = tally(weights, ["x", "y"], reliability={"loud": 0.0, "silent": 0.0})
    assert nobody.supports == {"x": 0.0, "y": 0.0}
    assert nobody.reviewers == {"x": 0, "y": 0}
