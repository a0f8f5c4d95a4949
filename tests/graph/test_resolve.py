"""Later rounds re-solve (issue 13, defect 6): a later-round reply that only restates an answer
is asked once to solve again, and refused if it still does not."""

from __future__ import annotations

from panels import panel, proposal_vote

from nsed_graph import Agent, create_nsed_graph
from nsed_graph.prompts import RESOLVE_RULES
from nsed_graph.protocol.answers import reasoning_before_answer, restatement
from nsed_graph.testing import WORKED, ScriptedCall, ScriptedChatModel, constant_judge, review_reply

TASK = "What is 6 x 7? Answer with a number."
JUDGE = constant_judge({"42": 80, "41": -60})
CONFIG = proposal_vote(max_rounds=2, min_rounds=2, answer_format="number", unanimous_exit=False)


def copier(resolves: bool) -> tuple[Agent, ScriptedChatModel]:
    """Solves round 1 in full; from round 2 on it only copies (``ANSWER: 41``), and, asked to
    solve again, does so only when ``resolves``."""

    def respond(call: ScriptedCall) -> object:
        if call.structured:
            return review_reply(call.prompt, call.schema, JUDGE)
        if "Your previous answer" not in call.prompt:
            return f"{WORKED}\nANSWER: 41"
        if RESOLVE_RULES in call.prompt and resolves:
            return f"{WORKED} Six sevens are 42.\nANSWER: 42"
        return "ANSWER: 41"

    model = ScriptedChatModel(respond=respond)
    return Agent(id="copier", model=model, family="c"), model


def run(resolves: bool) -> tuple[dict, ScriptedChatModel]:
    agents, _ = panel({"a": "42", "b": "41"}, {"a": JUDGE, "b": JUDGE})
    agent, model = copier(resolves)
    return create_nsed_graph([*agents, agent], CONFIG).invoke({"task": TASK}), model


def test_a_copied_answer_is_asked_to_solve_again() -> None:
    out, model = run(resolves=True)
    later = next(p for p in out["rounds"][1]["proposals"] if p["agent"] == "copier")
    assert later["ok"]
    assert later["answer"] == "42"
    assert "Six sevens" in later["text"]
    asked = [c for c in model.calls if not c.structured and RESOLVE_RULES in c.prompt]
    assert len(asked) == 1
    assert "ANSWER: 41" in asked[0].prompt  # it sees what it replied


def test_a_reply_that_still_only_copies_is_not_a_proposal() -> None:
    out, _ = run(resolves=False)
    later = next(p for p in out["rounds"][1]["proposals"] if p["agent"] == "copier")
    assert later["ok"] is False
    (failure,) = [f for f in out["failures"] if f["agent"] == "copier"]
    assert failure["kind"] == "restated"
    assert failure["round"] == 2
    assert "full re-solve" in failure["message"]
    assert out["answer"] == "42"


def test_round_one_and_code_need_no_length_and_the_check_can_be_turned_off() -> None:
    assert restatement("ANSWER: 18", "number", 80) is not None
    assert restatement("ANSWER: 18", "number", 0) is None
    assert restatement("```python\nprint(1)\n```", "code", 80) is None
    assert restatement(f"{WORKED}\nANSWER: 18", "number", 80) is None
    assert reasoning_before_answer("step one\nstep two\nANSWER: 3\n") == "step one\nstep two"
    out, model = run(resolves=False)
    first = [c for c in model.calls if not c.structured][:1]
    assert RESOLVE_RULES not in first[0].prompt
    relaxed = CONFIG.model_copy(update={"min_resolve_chars": 0})
    agents, _ = panel({"a": "42", "b": "41"}, {"a": JUDGE, "b": JUDGE})
    agent, _ = copier(resolves=False)
    out = create_nsed_graph([*agents, agent], relaxed).invoke({"task": TASK})
    assert all(p["ok"] for p in out["rounds"][1]["proposals"])


def test_a_round_of_copies_stalls_the_run_with_its_answer_kept_and_no_fault() -> None:
    agents, _ = panel({"a": "42"}, {"a": JUDGE})
    first, _ = copier(resolves=False)
    second = Agent(id="copier-2", model=copier(resolves=False)[1], family="d")
    out = create_nsed_graph([*agents, first, second], CONFIG).invoke({"task": TASK})
    assert out["stop_reason"] == "stalled"
    assert out["degraded"] is False
    assert out["error"] is None
    assert "only 1 usable proposal" in out["warning"]
    assert out["answer"] is not None
    assert {f["kind"] for f in out["failures"]} == {"restated"}


def test_the_first_later_round_ask_already_demands_the_re_solve() -> None:
    """A model that follows only the last paragraph of a prompt, as the local models did (with
    the task first and the material last, 14 of 15 later-round asks got a bare answer), now
    re-solves at the first ask: one call a seat, no re-ask."""

    def literal(call: ScriptedCall) -> object:
        if call.structured:
            return review_reply(call.prompt, call.schema, JUDGE)
        if "Your previous answer" not in call.prompt:
            return f"{WORKED}\nANSWER: 41"
        if "reasoning step by step first" in call.prompt.rstrip().split("\n\n")[-1]:
            return f"{WORKED} Six sevens are 42.\nANSWER: 42"
        return "ANSWER: 41"

    model = ScriptedChatModel(respond=literal)
    agents, _ = panel({"a": "42", "b": "41"}, {"a": JUDGE, "b": JUDGE})
    out = create_nsed_graph([*agents, Agent(id="literal", model=model)], CONFIG).invoke(
        {"task": TASK}
    )
    later = next(p for p in out["rounds"][1]["proposals"] if p["agent"] == "literal")
    assert later["answer"] == "42"
    second_round = [c for c in model.calls if not c.structured and "Your previous" in c.prompt]
    assert len(second_round) == 1
    assert not [f for f in out["failures"] if f["agent"] == "literal"]
