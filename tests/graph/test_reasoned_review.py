"""Reviewers that solve before they judge (issue 13, defect 5): ``review_mode="reasoned"``."""

from __future__ import annotations

from panels import proposal_vote

from nsed_graph import Agent, create_nsed_graph
from nsed_graph.protocol.verdicts import read_verdicts
from nsed_graph.testing import (
    WORKED,
    ScriptedCall,
    ScriptedChatModel,
    candidates_in,
    review_reply,
)

TASK = "What is 6 x 7? Answer with a number."
CONFIG = proposal_vote(
    max_rounds=1,
    min_rounds=1,
    answer_format="number",
    review_mode="reasoned",
)


def reviewer(answer: str, *, verdicts: bool = True) -> ScriptedChatModel:
    """Proposes ``answer``; reviewing, it solves (6 x 7 = 42) and gives each candidate a verdict
    line, +90 for 42 and -80 otherwise, or, without ``verdicts``, forgets the lines."""

    def respond(call: ScriptedCall) -> object:
        if call.structured:  # the fallback, asked for the missing verdicts as JSON
            return review_reply(call.prompt, call.schema, lambda a: 90 if a == "42" else -80)
        if "Candidates:" not in call.prompt:
            return f"{WORKED}\nANSWER: {answer}"
        lines = ["Solving it myself: 6 x 7 = 42, so the answer is 42."]
        if verdicts:
            for label, given in candidates_in(call.prompt).items():
                right = given == "42"
                why = "it matches my 42" if right else "it differs from my 42"
                lines.append(f"VERDICT {label}: {'+90' if right else '-80'} {why}")
        return "\n".join(lines)

    return ScriptedChatModel(respond=respond)


def table(**verdicts: bool) -> tuple[list[Agent], dict[str, ScriptedChatModel]]:
    models = {
        name: reviewer(answer, verdicts=verdicts.get(name, True))
        for name, answer in (("right", "42"), ("wrong", "41"), ("other", "43"))
    }
    return [Agent(id=n, model=m, family=n) for n, m in models.items()], models


def test_the_reviewer_solves_anchored_on_its_own_answer_then_weights_are_read_from_the_end() -> (
    None
):
    agents, models = table()
    out = create_nsed_graph(agents, CONFIG).invoke({"task": TASK})
    assert out["answer"] == "42"
    review = next(r for r in out["rounds"][0]["reviews"] if r["reviewer"] == "wrong")
    assert review["ok"]
    assert {agent: s["weight"] for agent, s in review["scores"].items()} == {
        "right": 90.0,
        "other": -80.0,
    }
    assert review["scores"]["right"]["critique"] == "it matches my 42"
    (call,) = [c for c in models["wrong"].calls if "Candidates:" in c.prompt]
    assert not call.structured  # one free-text call, no schema to fill
    assert "Your own answer this round:" in call.prompt
    assert "ANSWER: 41" in call.prompt.split("Candidates:")[0]  # its own proposal, as anchor
    assert "<short critique>" not in call.prompt  # no template text to copy


def test_candidates_left_without_a_verdict_line_are_asked_for_as_json() -> None:
    agents, models = table(wrong=False)
    out = create_nsed_graph(agents, CONFIG).invoke({"task": TASK})
    review = next(r for r in out["rounds"][0]["reviews"] if r["reviewer"] == "wrong")
    assert {agent: s["weight"] for agent, s in review["scores"].items()} == {
        "right": 90.0,
        "other": -80.0,
    }
    asked = [c for c in models["wrong"].calls if "Candidates:" in c.prompt]
    assert [c.structured for c in asked] == [False, True]
    assert "Solving it myself" in asked[1].prompt  # the same conversation


def test_verdict_lines_are_read_leniently_and_only_for_shown_labels() -> None:
    text = "\n".join(
        [
            "VERDICT A: 40 first thought",
            "**Verdict B**: -250. Clearly wrong.",
            "verdict for candidate C = +7",
            "VERDICT Z: 99 not shown",
            "VERDICT A: +60 on reflection, right",
        ]
    )
    assert read_verdicts(text, ["A", "B", "C"], critique_max_chars=10) == {
        "A": (60.0, "on reflect"),
        "B": (-100.0, "Clearly wr"),
        "C": (7.0, ""),
    }
