"""The forget gate keeps prompts bounded however long the answers and however many rounds."""

from __future__ import annotations

from panels import panel, reviewed

from nsed_graph import create_nsed_graph
from nsed_graph.testing import ScriptedCall, constant_judge

SLACK_CHARS = 200  # digits of supports and weights may differ between rounds


def test_largest_prompt_in_round_ten_is_no_larger_than_in_round_two() -> None:
    ids = ["a", "b", "c", "d"]

    def long_answer(call: ScriptedCall) -> str:
        # reasoning grows with every call, so anything unbounded would show
        return "7\n" + "because " * (500 * (call.index + 1))

    judges = {a: constant_judge({"7": 60}, default=60) for a in ids}
    agents, models = panel(dict.fromkeys(ids, long_answer), judges)
    config = reviewed(max_rounds=10, min_rounds=10, answer_format="number", unanimous_exit=False)
    out = create_nsed_graph(agents, config).invoke({"task": "What is 3 + 4?"})
    assert len(out["rounds"]) == 10
    assert out["failures"] == []

    for model in models.values():
        calls = model.calls
        assert len(calls) == 20  # one proposal and one batch review per round
        round_of = {call.index: call.index // 2 + 1 for call in calls}
        largest = {t: max(len(c.prompt) for c in calls if round_of[c.index] == t) for t in (2, 10)}
        assert largest[10] <= largest[2] + SLACK_CHARS
    longest_answer = max(len(p["text"]) for r in out["rounds"] for p in r["proposals"])
    largest_prompt = max(len(c.prompt) for m in models.values() for c in m.calls)
    assert longest_answer > 10 * largest_prompt
