"""Spend compute where it pays (issue 13): a round whose reviews cannot move its vote skips
them and takes the plurality of its answers; reviews that can count still run."""

from __future__ import annotations

from pathlib import Path

from panels import panel

from nsed_graph import NSEDConfig, create_nsed_graph
from nsed_graph.broker.telemetry import empty_record
from nsed_graph.persistence import save_telemetry
from nsed_graph.testing import constant_judge

TASK = "What is 6 x 7? Answer with a number."
ANSWERS = {"a": "42", "b": "42", "c": "41"}


def table():
    """Two proposals of 42 and one of 41; every reviewer endorses 41 outright."""
    return panel(ANSWERS, dict.fromkeys(ANSWERS, constant_judge({"41": 100, "42": -100})))


def review_calls(models: dict) -> int:
    return sum(1 for model in models.values() for call in model.calls if call.structured)


def test_at_review_weight_zero_no_review_is_asked_and_the_plurality_answers() -> None:
    agents, models = table()
    out = create_nsed_graph(agents, NSEDConfig(max_rounds=1, min_rounds=1)).invoke({"task": TASK})
    assert review_calls(models) == 0
    (record,) = out["rounds"]
    assert record["unreviewed"] is True
    assert record["reviews"] == []
    assert record["evidence"] == {"42": 2.0, "41": 1.0}
    assert out["answer"] == "42"
    assert out["stop_reason"] == "max_rounds"


def test_reviews_that_can_count_are_asked() -> None:
    agents, models = table()
    config = NSEDConfig(max_rounds=1, min_rounds=1, review_weight=2.0)
    out = create_nsed_graph(agents, config).invoke({"task": TASK})
    assert review_calls(models) == 3
    assert "unreviewed" not in out["rounds"][0]
    assert out["answer"] == "41"  # the reviews moved it: they were worth asking

    agents, models = table()
    paper = NSEDConfig.paper(max_rounds=1)
    create_nsed_graph(agents, paper).invoke({"task": TASK})
    assert review_calls(models) == 3  # the paper's protocol always reviews


def test_reviewers_measured_at_worth_zero_are_not_asked(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.json"
    always_wrong = {
        **empty_record(),
        "review_right_endorsed": 0,
        "review_right_scored": 40,
        "review_wrong_rejected": 0,
        "review_wrong_scored": 40,
    }
    save_telemetry(path, dict.fromkeys(ANSWERS, always_wrong))
    config = NSEDConfig(
        max_rounds=1,
        min_rounds=1,
        review_weight=2.0,
        reviewer_weighting="worth",
        telemetry_file=str(path),
    )
    agents, models = table()
    out = create_nsed_graph(agents, config).invoke({"task": TASK})
    assert review_calls(models) == 0
    assert out["rounds"][0]["unreviewed"] is True
    assert out["answer"] == "42"

    save_telemetry(path, {"a": always_wrong})  # b and c have no history: the prior counts
    agents, models = table()
    create_nsed_graph(agents, config).invoke({"task": TASK})
    assert review_calls(models) == 3


def test_a_later_round_sees_every_competing_answer_of_an_unreviewed_round() -> None:
    """With two kept proposals, the brief holds 42 and 41, not two copies of 42 (which the
    ranking by review support kept, with reviewers that favour 42)."""
    agents, models = panel(ANSWERS, dict.fromkeys(ANSWERS, constant_judge({"42": 100})))
    config = NSEDConfig(max_rounds=2, min_rounds=2, keep_top_k=2, answer_format="number")
    create_nsed_graph(agents, config).invoke({"task": TASK})
    later = [c for c in models["a"].calls if not c.structured][1]
    assert "answer: 42" in later.prompt
    assert "answer: 41" in later.prompt


def test_a_model_never_reviews_its_own_samples() -> None:
    """Sibling samples are one model: its review of its own draw is self-preference, not an
    independent judgement (issue 13)."""
    judge = constant_judge({"42": 50, "41": -50})
    (sampled,), _ = panel({"m": "42"}, {"m": judge})
    others, _ = panel({"o": "41"}, {"o": judge})
    agents = [sampled.model_copy(update={"samples": 2, "sample_temperature": 0.7}), *others]
    out = create_nsed_graph(agents, NSEDConfig(max_rounds=1, min_rounds=1, review_weight=1.0))
    record = out.invoke({"task": TASK})["rounds"][0]
    scored = {r["reviewer"]: sorted(r["scores"]) for r in record["reviews"]}
    assert scored == {"m": ["o"], "m@2": ["o"], "o": ["m", "m@2"]}


def test_a_budget_reached_by_the_proposals_starts_no_review_phase() -> None:
    """Issue 16: max_total_tokens=500 spent 3,404, the review phase running after the
    proposals had crossed the budget."""
    agents, models = table()
    config = NSEDConfig(
        max_rounds=3, review_weight=2.0, max_total_tokens=10, convergence_threshold=1.0
    )
    out = create_nsed_graph(agents, config).invoke({"task": TASK})
    assert review_calls(models) == 0  # reviews would count, but the budget is gone
    assert out["stop_reason"] == "token_budget"
    assert out["answer"] == "42"  # the round's plurality still answers
    assert len(out["rounds"]) == 1
