"""Quadratic voting: hand-checked values and hypothesis properties of the maths."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsed_graph.protocol.voting import calibrate, credits, reliability_from_history, tally, votes


def test_hand_computed_round() -> None:
    # Reviewer x endorses a strongly and b weakly; y rejects a; z is sure of b.
    weights = {"x": {"a": 60, "b": 20}, "y": {"a": -50, "b": 50}, "z": {"a": -10, "b": 90}}
    result = tally(weights, ["a", "b"])
    assert result.credits["x"] == {"a": 0.75, "b": 0.25}
    assert result.votes["x"]["a"] == pytest.approx(math.sqrt(0.75))
    assert result.votes["y"]["a"] == pytest.approx(-math.sqrt(0.5))
    expected_a = (math.sqrt(0.75) - math.sqrt(0.5) - math.sqrt(0.1)) / 3
    expected_b = (math.sqrt(0.25) + math.sqrt(0.5) + math.sqrt(0.9)) / 3
    assert result.supports["a"] == pytest.approx(expected_a)
    assert result.supports["b"] == pytest.approx(expected_b)
    assert result.winner == "b"
    total = abs(expected_a) + abs(expected_b)
    assert result.conviction == pytest.approx(expected_b / total)


def test_intensity_beats_head_count() -> None:
    # Two lukewarm endorsements of "w" against one confident one of "r" plus rejections of "w".
    weights = {
        "p": {"w": 10, "r": 5},
        "q": {"w": 10, "r": 5},
        "s": {"w": -90, "r": 90},
    }
    assert tally(weights, ["w", "r"]).winner == "r"


def test_all_zero_reviewer_casts_no_vote() -> None:
    result = tally({"x": {"a": 0, "b": 0}, "y": {"a": 40, "b": -40}}, ["a", "b"])
    assert "x" not in result.credits
    assert result.reviewers == {"a": 1, "b": 1}


def test_centring_silences_a_reviewer_that_endorses_everything() -> None:
    weights = {"yes-man": {"a": 100, "b": 100}, "critic": {"a": -50, "b": 50}}
    assert tally(weights, ["a", "b"], calibration="center").winner == "b"
    assert tally(weights, ["a", "b"], calibration="center").credits.keys() == {"critic"}
    assert calibrate({"a": 1.0, "b": 3.0}, "zscore") == {"a": -1.0, "b": 1.0}


def test_majority_and_linear_modes() -> None:
    assert votes({"a": 0.75, "b": -0.25}, "majority") == {"a": 1.0, "b": 0.0}
    assert votes({"a": 0.75, "b": -0.25}, "linear") == {"a": 0.75, "b": -0.25}
    assert votes({"a": -0.5, "b": -0.5}, "majority") == {"a": 0.0, "b": 0.0}


def test_pooling_sums_agreeing_candidates() -> None:
    weights = {
        "a": {"b": 50, "c": 50, "d": 60},
        "b": {"a": 50, "c": 50, "d": 60},
        "c": {"a": 50, "b": 50, "d": 60},
        "d": {"a": 30, "b": 30, "c": 30},
    }
    clusters = {"a": "7", "b": "7", "c": "7", "d": "8"}
    plain = tally(weights, list(clusters))
    pooled = tally(weights, list(clusters), clusters=clusters)
    assert plain.winner == "d"
    assert pooled.winner in {"a", "b", "c"}
    assert pooled.cluster_supports["7"] == pytest.approx(sum(plain.supports[j] for j in "abc"))


def test_ties_go_to_previous_support_then_to_the_stronger_proposer() -> None:
    weights = {"x": {"alpha": 50, "zeta": 50}}
    candidates = ["alpha", "zeta"]
    assert tally(weights, candidates, previous_support={"zeta": 0.3, "alpha": 0.1}).winner == "zeta"
    # issue 13, defect 2: the lower id used to win, so the 0.5B beat the 1.5B on every tie
    assert tally(weights, candidates, strength={"alpha": 0.3, "zeta": 0.8}).winner == "zeta"


def test_a_pooled_tie_goes_to_the_answer_more_proposers_reached() -> None:
    weights = {r: {"a": 1, "b": 1, "c": 2} for r in ("r1", "r2")}
    result = tally(
        weights, ["a", "b", "c"], aggregation="linear", clusters={"a": "7", "b": "7", "c": "9"}
    )
    assert result.cluster_supports == {"7": pytest.approx(0.5), "9": pytest.approx(0.5)}
    assert result.winner in {"a", "b"}  # two independent solutions reach 7; c alone says 9


def test_a_tie_without_any_evidence_favours_no_id_across_tasks() -> None:
    weights = {"x": {"a": 50, "b": 50}}
    winners = {tally(weights, ["a", "b"], tie_salt=f"task {i}").winner for i in range(30)}
    assert winners == {"a", "b"}
    assert (
        tally(weights, ["b", "a"], tie_salt="t").winner
        == tally(weights, ["a", "b"], tie_salt="t").winner
    )


def test_reliability_shrinks_toward_one() -> None:
    rel = reliability_from_history({"new": (0, 0), "bad": (0, 20), "good": (20, 20)}, 4.0)
    assert rel["new"] == 1.0
    assert rel["good"] == 1.0
    assert rel["bad"] == pytest.approx(4 / 24)


# ---- properties -------------------------------------------------------------------------------

ids = st.sampled_from(["a", "b", "c", "d", "e", "f"])
weight = st.integers(min_value=-100, max_value=100)
matrices = st.dictionaries(ids, st.dictionaries(ids, weight, max_size=6), min_size=1, max_size=6)
modes = st.sampled_from(["quadratic", "linear"])
calibrations = st.sampled_from(["none", "center", "zscore"])


@given(matrices, calibrations)
def test_each_reviewer_spends_exactly_one_credit(weights, calibration) -> None:
    result = tally(weights, list("abcdef"), calibration=calibration)
    for row in result.credits.values():
        assert math.fsum(abs(s) for s in row.values()) == pytest.approx(1.0)


@given(matrices, modes)
def test_votes_keep_the_sign_of_the_weight(weights, aggregation) -> None:
    result = tally(weights, list("abcdef"), aggregation=aggregation)
    for reviewer, row in result.votes.items():
        for candidate, vote in row.items():
            raw = result.raw[reviewer][candidate]
            assert vote == 0 or math.copysign(1, vote) == math.copysign(1, raw)


@given(matrices, st.permutations(list("abcdef")), modes)
def test_result_does_not_depend_on_candidate_order(weights, order, aggregation) -> None:
    first = tally(weights, list("abcdef"), aggregation=aggregation)
    second = tally(weights, order, aggregation=aggregation)
    assert first.winner == second.winner
    assert first.ranking == second.ranking
    assert first.supports == pytest.approx(second.supports)


@given(matrices)
def test_no_reviewer_ever_scores_itself(weights) -> None:
    result = tally(weights, list("abcdef"))
    for reviewer in result.raw:
        assert reviewer not in result.raw[reviewer]
        assert reviewer not in result.votes.get(reviewer, {})


@given(matrices)
def test_missing_reviews_are_left_out_not_filled_in(weights) -> None:
    result = tally(weights, list("abcdef"))
    for candidate, support in result.supports.items():
        voters = [row[candidate] for row in result.votes.values() if candidate in row]
        assert result.reviewers[candidate] == len(voters)
        assert support == pytest.approx(math.fsum(voters) / len(voters))
    unscored = {c for c in "abcdef" if not any(c in row for row in result.votes.values())}
    assert unscored.isdisjoint(result.supports)


@given(matrices, modes, calibrations)
def test_conviction_lies_in_unit_interval(weights, aggregation, calibration) -> None:
    result = tally(weights, list("abcdef"), aggregation=aggregation, calibration=calibration)
    assert -1.0 - 1e-9 <= result.conviction <= 1.0 + 1e-9


@given(st.dictionaries(ids, weight, min_size=1))
def test_credits_of_all_zero_spend_nothing(row) -> None:
    spent = credits(row)
    assert spent == {} or math.fsum(abs(v) for v in spent.values()) == pytest.approx(1.0)
