"""The forget gate: decay, admission, and a brief that never outgrows its budget."""

from hypothesis import given
from hypothesis import strategies as st

from nsed_graph.protocol.gate import MemoryItem, approx_tokens, decay, gate, truncate_tokens


def item(round_: int, agent: str, support: float, text: str = "work") -> MemoryItem:
    return {
        "round": round_,
        "agent": agent,
        "answer": agent.upper(),
        "reasoning": text,
        "support": support,
        "weight": 1.0,
    }


def test_decay_weights_and_floor() -> None:
    items = [item(1, "a", 0.5), item(3, "b", 0.5)]
    aged = decay(items, now=4, gamma=0.5, floor=0.2)
    assert [(i["agent"], i["weight"]) for i in aged] == [("b", 0.5)]
    assert decay(items, now=4, gamma=0.0, floor=0.2) == []
    assert len(decay(items, now=40, gamma=1.0, floor=0.2)) == 2


def test_keeps_top_k_with_reasoning_cut() -> None:
    proposals = [item(2, a, s, "x" * 5000) for a, s in [("a", 0.1), ("b", 0.9), ("c", 0.5)]]
    memory, brief, cut = gate(
        [],
        proposals,
        now=2,
        gamma=0.5,
        floor=0.2,
        keep_top_k=2,
        reasoning_budget=50,
        state_token_budget=10_000,
    )
    assert [m["agent"] for m in memory] == ["b", "c"]
    assert cut is False  # within its budget: nothing for a compressor to do
    assert all(approx_tokens(m["reasoning"]) <= 50 for m in memory)
    assert "agent" not in brief
    assert "b" not in brief.split("answer: ")[0]


def test_truncate_marks_the_cut() -> None:
    assert truncate_tokens("short", 10) == "short"
    cut = truncate_tokens("y" * 400, 10)
    assert len(cut) <= 40
    assert cut.endswith("[...]")


@given(
    st.lists(st.tuples(st.integers(1, 1000), st.floats(-1, 1)), min_size=1, max_size=8),
    st.integers(2, 30),
    st.floats(0.0, 1.0),
)
def test_brief_stays_within_budget_for_any_history(sizes, rounds, gamma) -> None:
    memory: list[MemoryItem] = []
    for t in range(1, rounds + 1):
        proposals = [item(t, f"a{i}", s, "z" * n) for i, (n, s) in enumerate(sizes)]
        memory, brief, _ = gate(
            memory,
            proposals,
            now=t,
            gamma=gamma,
            floor=0.2,
            keep_top_k=3,
            reasoning_budget=100,
            state_token_budget=300,
        )
        assert approx_tokens(brief) <= 300


def solution(agent: str, answer: str, support: float, evidence: float) -> MemoryItem:
    return {**item(2, agent, support), "answer": answer, "evidence": evidence}


def test_under_the_answer_vote_every_answer_is_kept_before_a_repeat() -> None:
    proposals = [
        solution("a", "42", 0.9, 3.0),
        solution("b", "42", 0.8, 3.0),
        solution("c", "42", 0.7, 3.0),
        solution("d", "41", -0.5, 1.0),
        solution("e", "", 0.0, 1.0),  # no answer: a cluster of its own, keyed by the agent
    ]
    settings = {
        "now": 2,
        "gamma": 0.5,
        "floor": 0.2,
        "keep_top_k": 3,
        "reasoning_budget": 50,
        "state_token_budget": 10_000,
    }
    by_support, _, _ = gate([], proposals, **settings)
    assert [m["agent"] for m in by_support] == ["a", "b", "c"]
    by_answer, brief, _ = gate([], proposals, by_answer=True, **settings)
    assert [m["agent"] for m in by_answer] == ["a", "d", "e"]
    assert brief.index("answer: 42") < brief.index("answer: 41")
    older, _, _ = gate(
        by_answer, [solution("f", "7", 0.0, 1.0)], by_answer=True, **{**settings, "now": 3}
    )
    assert [m["agent"] for m in older] == ["f", "a", "d", "e"]  # the newest round first
