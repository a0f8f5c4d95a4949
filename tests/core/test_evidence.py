"""The vote over answers (protocol/evidence.py): hand-checked cases and properties."""

from __future__ import annotations

from collections import Counter
from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsed_graph.protocol.ballot import reviews_can_count
from nsed_graph.protocol.evidence import answer_vote


def test_agreeing_solutions_are_not_split_by_the_vote() -> None:
    """Issue 13, defect 3: three agents that agree on 7 against one well-reviewed 9."""
    answers = {"a": "7", "b": "7", "c": "7", "d": "9"}
    supports = {"a": 0.1, "b": 0.0, "c": -0.1, "d": 0.9}
    vote = answer_vote(answers, supports, review_weight=1.0)
    assert vote.evidence == {"7": pytest.approx(3.0), "9": pytest.approx(1.9)}
    assert (vote.answer, vote.winner) == ("7", "a")  # the best-reviewed member carries the text
    assert vote.conviction == pytest.approx(3.0 / 4.9)


def test_reviews_reorder_answers_of_equal_agreement() -> None:
    vote = answer_vote({"a": "1", "b": "2"}, {"a": -0.5, "b": 0.5}, review_weight=1.0)
    assert vote.answer == "2"


def test_a_tie_goes_to_the_stronger_agents_then_to_no_id() -> None:
    answers, supports = {"small": "1", "large": "2"}, {"small": 0.0, "large": 0.0}
    strong = answer_vote(
        answers, supports, review_weight=1.0, strength={"small": 0.3, "large": 0.8}
    )
    assert strong.answer == "2"
    picked = {
        answer_vote(answers, supports, review_weight=1.0, tie_salt=f"task {i}").answer
        for i in range(30)
    }
    assert picked == {"1", "2"}


def test_no_proposal_no_winner() -> None:
    vote = answer_vote({}, {}, review_weight=1.0)
    assert (vote.answer, vote.winner, vote.conviction) == (None, None, 0.0)


@given(
    st.dictionaries(
        st.sampled_from("abcdefgh"), st.sampled_from(["1", "2", "3"]), min_size=1, max_size=8
    ),
    st.data(),
)
def test_without_review_weight_it_is_plurality(
    answers: dict[str, str], data: st.DataObject
) -> None:
    supports = {a: data.draw(st.floats(-1, 1)) for a in answers}
    vote = answer_vote(answers, supports, review_weight=0.0)
    counts = Counter(answers.values())
    assert counts[vote.answer] == max(counts.values())
    assert sum(vote.evidence.values()) == pytest.approx(len(answers))


@given(
    st.dictionaries(st.sampled_from("abcdef"), st.sampled_from(["1", "2"]), min_size=1),
    st.floats(0, 3),
    st.data(),
)
def test_evidence_is_one_solution_per_proposal_moved_by_its_reviews(
    answers: dict[str, str], weight: float, data: st.DataObject
) -> None:
    supports = {a: data.draw(st.floats(-1, 1)) for a in answers}
    vote = answer_vote(answers, supports, review_weight=weight)
    for answer, evidence in vote.evidence.items():
        members = [a for a in answers if answers[a] == answer]
        assert evidence == pytest.approx(sum(1 + weight * supports[a] for a in members))
    assert vote.winner is not None
    assert answers[vote.winner] == vote.answer


def test_reviews_count_only_where_they_can_move_the_vote() -> None:
    counts = partial(reviews_can_count, worths=None)
    assert counts(vote_unit="answers", review_weight=0.5)
    assert not counts(vote_unit="answers", review_weight=0.0)
    assert counts(vote_unit="proposals", review_weight=0.0)  # the paper's vote reads reviews
    silent = {"a": 0.0, "b": 0.0}
    assert not reviews_can_count(vote_unit="proposals", review_weight=1.0, worths=silent)
    assert reviews_can_count(vote_unit="proposals", review_weight=1.0, worths={**silent, "c": 0.1})
    assert reviews_can_count(vote_unit="proposals", review_weight=1.0, worths={})
