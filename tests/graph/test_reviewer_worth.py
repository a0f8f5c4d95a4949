"""Reviews earn their weight (issue 13, defect 4): a reviewer's worth is learned from outcomes,
kept in telemetry across runs, and reaches 0 for a reviewer no better than chance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from panels import panel, proposal_vote

from nsed_graph import NSEDConfig, create_nsed_graph
from nsed_graph.testing import constant_judge

TASK = "What is 6 x 7? Answer with a number."
KNOWN = {"configurable": {"reference": "42"}}


def table():
    """``liar`` (proposes 41) endorses the wrong 43 and rejects the right 42; ``honest``
    (proposes 42) rejects both wrong answers; ``quiet`` (proposes 43) scores nothing. Counted
    alike, the liar's votes make 43 win."""
    answers = {"liar": "41", "honest": "42", "quiet": "43"}
    judges = {
        "liar": constant_judge({"42": -100, "43": 100}),
        "honest": constant_judge({"41": -100, "43": -100}),
        "quiet": constant_judge({}),
    }
    agents, _ = panel(answers, judges)
    return agents


def outcome(record: dict) -> tuple[int, int, int, int]:
    return (
        record["review_right_endorsed"],
        record["review_right_scored"],
        record["review_wrong_rejected"],
        record["review_wrong_scored"],
    )


def config(tmp_path: Path, **options: object) -> NSEDConfig:
    return proposal_vote(
        max_rounds=1,
        min_rounds=1,
        answer_format="integer",
        telemetry_file=str(tmp_path / "telemetry.json"),
        **options,
    )


def test_a_known_answer_grades_every_reviewer_and_the_grades_persist(tmp_path: Path) -> None:
    graph = create_nsed_graph(table(), config(tmp_path))
    result = graph.invoke({"task": TASK}, KNOWN)
    assert result["answer"] == "43"  # counted alike, the liar decides
    telemetry = result["telemetry"]
    assert outcome(telemetry["honest"]) == (0, 0, 2, 2)  # rejected both wrong answers
    assert outcome(telemetry["liar"]) == (0, 1, 0, 1)  # rejected the right, endorsed a wrong
    assert telemetry["honest"]["review_accuracy"] == 0.75  # no right peer seen: that side 50%
    assert telemetry["liar"]["review_accuracy"] == 0.0
    assert telemetry["quiet"]["review_accuracy"] is None  # a weight of 0 counts on no side
    again = graph.invoke({"task": TASK}, KNOWN)
    assert outcome(again["telemetry"]["honest"]) == (0, 0, 4, 4)  # carried across runs


def test_a_reviewer_shown_to_be_wrong_stops_deciding_the_vote(tmp_path: Path) -> None:
    learned = config(tmp_path, reviewer_weighting="worth")
    create_nsed_graph(table(), config(tmp_path)).invoke({"task": TASK}, KNOWN)
    result = create_nsed_graph(table(), learned).invoke({"task": TASK})
    assert result["answer"] == "42"
    votes = result["rounds"][0]["votes"]
    assert set(votes["liar"].values()) == {0.0}
    unweighted = create_nsed_graph(table(), config(tmp_path)).invoke({"task": TASK})
    assert unweighted["answer"] == "43"


def test_without_history_worth_counts_every_reviewer_alike(tmp_path: Path) -> None:
    result = create_nsed_graph(table(), config(tmp_path, reviewer_weighting="worth")).invoke(
        {"task": TASK}
    )
    assert result["answer"] == "43"


def test_graded_by_the_final_answer_a_reviewer_never_grades_its_own_decision(
    tmp_path: Path,
) -> None:
    result = create_nsed_graph(table(), config(tmp_path)).invoke({"task": TASK})
    record = result["rounds"][0]
    assert result["answer"] == "43"
    assert record["pivotal"] == ["liar"]  # without its votes 43 would not have won
    telemetry = result["telemetry"]
    assert outcome(telemetry["liar"]) == (0, 0, 0, 0)
    # against the final 43, honest rightly rejected 41 and wrongly rejected 43
    assert outcome(telemetry["honest"]) == (0, 1, 1, 1)


def test_the_reference_reaches_no_prompt_and_no_state(tmp_path: Path) -> None:
    agents = table()
    graph = create_nsed_graph(
        agents,
        config(tmp_path).model_copy(update={"answer_format": "text"}),
        checkpointer=InMemorySaver(),
    )
    thread = {"configurable": {"thread_id": "t", "reference": "sentinel-answer-7731"}}
    graph.invoke({"task": TASK}, thread)
    prompts = [p for agent in agents for p in agent.model.prompts]  # type: ignore[attr-defined]
    assert prompts
    assert not [p for p in prompts if "sentinel-answer-7731" in p]
    saved = graph.get_state({"configurable": {"thread_id": "t"}}).values
    assert "sentinel-answer-7731" not in json.dumps(saved, default=str)


def test_a_reference_belongs_to_its_invocation_only(tmp_path: Path) -> None:
    graph = create_nsed_graph(table(), config(tmp_path), checkpointer=InMemorySaver())
    graph.invoke({"task": TASK}, {"configurable": {"thread_id": "t", "reference": "42"}})
    graded = graph.invoke({"task": "What is 7 x 6?"}, {"configurable": {"thread_id": "t"}})
    # the second run, without a reference, is graded by its final answer (43), not by 42
    assert outcome(graded["telemetry"]["honest"]) == (0, 1, 3, 3)


@pytest.mark.parametrize("reference", [42, "  ", "forty-two"])
def test_a_reference_that_is_not_an_answer_is_refused_by_name_for_that_call_only(
    tmp_path: Path, reference: object
) -> None:
    graph = create_nsed_graph(table(), config(tmp_path), checkpointer=InMemorySaver())
    with pytest.raises(ValueError, match="reference: expected the known right answer"):
        graph.invoke({"task": TASK}, {"configurable": {"thread_id": "t", "reference": reference}})
    out = graph.invoke({"task": TASK}, {"configurable": {"thread_id": "t"}})
    assert out["answer"] == "43"
