"""The forget gate: a consensus state of fixed size however many rounds run.

``h_{t+1} = gate_gamma(h_t) (+) vote_t`` (docs/protocol.md, "5. Forget gate"). The top
``keep_top_k`` proposals of a round enter with weight 1 and their reasoning cut to a budget; an item
of age a keeps weight ``gamma ** a`` and leaves once that falls under the floor; the rendered brief
is cut to ``state_token_budget`` tokens, lowest weight first. This is what keeps the prompt of round
10 no larger than the prompt of round 2, which the paper calls refinement without memory growth.

Tokens are estimated as characters / 4: no tokenizer is shared by every model at the table, and
a bound only needs to be conservative and stable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple, NotRequired, TypedDict

from nsed_graph.records import Proposal

CHARS_PER_TOKEN = 4
_ELLIPSIS = " [...]"


class Gated(NamedTuple):
    """The gate's result: the new memory, its rendered brief, and whether the brief had to be
    cut to ``state_token_budget`` (items dropped or the last one shortened): only then has a
    compressor seat something to do."""

    memory: list[MemoryItem]
    brief: str
    cut: bool


class MemoryItem(TypedDict):
    """One proposal kept in the consensus state (agent id kept for audit, never rendered)."""

    round: int
    agent: str
    answer: str
    reasoning: str
    support: float
    weight: float
    evidence: NotRequired[float]
    """Under the vote over answers: the evidence of this item's answer in its round."""


def approx_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def truncate_tokens(text: str, budget: int) -> str:
    """Cut ``text`` to about ``budget`` tokens, marking the cut."""
    limit = budget * CHARS_PER_TOKEN
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(_ELLIPSIS))].rstrip() + _ELLIPSIS


def decay(items: Sequence[MemoryItem], *, now: int, gamma: float, floor: float) -> list[MemoryItem]:
    """Age every item to round ``now``: weight ``gamma ** age``; drop those under ``floor``."""
    kept: list[MemoryItem] = []
    for item in items:
        age = now - item["round"]
        weight = 1.0 if age <= 0 else gamma**age
        if weight >= floor:
            kept.append({**item, "weight": weight})
    return kept


def admit(
    proposals: Sequence[MemoryItem],
    *,
    keep_top_k: int,
    reasoning_budget: int,
    by_answer: bool = False,
) -> list[MemoryItem]:
    """The round's best ``keep_top_k`` proposals by support, reasoning cut to its budget.

    Under the vote over answers (``by_answer``, items carrying their answer's ``evidence``) the
    best proposal of every answer comes first, the most evident answer first, before a second
    proposal of any answer: the next round must see each competing answer with its best
    reasoning, not three copies of the leading one (issue 13, defect 6)."""
    if not by_answer:
        ranked = sorted(proposals, key=lambda p: (-p["support"], p["agent"]))
    else:
        ordered = sorted(
            proposals,
            key=lambda p: (-p.get("evidence", 0.0), _answer_key(p), -p["support"]),
        )
        repeats: dict[str, int] = {}
        place: list[tuple[int, int]] = []
        for position, item in enumerate(ordered):
            key = _answer_key(item)
            place.append((repeats.get(key, 0), position))
            repeats[key] = repeats.get(key, 0) + 1
        ranked = [ordered[position] for _, position in sorted(place)]
    return [
        {**p, "weight": 1.0, "reasoning": truncate_tokens(p["reasoning"], reasoning_budget)}
        for p in ranked[:keep_top_k]
    ]


def _answer_key(item: MemoryItem) -> str:
    """An item's answer, as ``ballot.answer_clusters`` groups them (no answer: its own)."""
    return item["answer"] or item["agent"]


def gate(
    memory: Sequence[MemoryItem],
    proposals: Sequence[MemoryItem],
    *,
    now: int,
    gamma: float,
    floor: float,
    keep_top_k: int,
    reasoning_budget: int,
    state_token_budget: int,
    by_answer: bool = False,
) -> Gated:
    """One step of the gate: the new memory and its rendered brief, both bounded. Under the
    vote over answers (``by_answer``) the round's admission order stands ahead of older items,
    so a cut to the token budget drops repeats and old rounds first."""
    older = [item for item in memory if item["round"] < now]
    items = decay(older, now=now, gamma=gamma, floor=floor)
    admitted = admit(
        proposals, keep_top_k=keep_top_k, reasoning_budget=reasoning_budget, by_answer=by_answer
    )
    if not by_answer:
        items += admitted
        items.sort(key=lambda i: (-i["weight"], -i["support"], i["round"], i["agent"]))
    else:
        items = admitted + items
    dropped = False
    while items:
        brief = render_brief(items)
        if approx_tokens(brief) <= state_token_budget or len(items) == 1:
            cut = dropped or approx_tokens(brief) > state_token_budget
            return Gated(items, truncate_tokens(brief, state_token_budget), cut)
        items, dropped = items[:-1], True
    return Gated([], "", False)


def render_brief(items: Sequence[MemoryItem]) -> str:
    """The consensus brief the next round is conditioned on, with no agent identity in it."""
    lines = []
    for index, item in enumerate(items, start=1):
        lines.append(
            f"[{index}] round {item['round']}, support {item['support']:+.2f}, "
            f"weight {item['weight']:.2f}\n"
            f"answer: {item['answer']}\n"
            f"reasoning: {item['reasoning']}"
        )
    return "\n\n".join(lines)


def memory_entries(
    round_number: int,
    proposals: Sequence[Proposal],
    supports: Mapping[str, float],
    view: Callable[[Proposal], str],
    *,
    answer_view: Callable[[str], str] = str,
    evidence: Mapping[str, float] | None = None,
) -> list[MemoryItem]:
    """The round's usable, scored proposals as they enter the gate, each shown through
    ``view`` (the masked peer view) and its answer through ``answer_view`` (redacted), so the
    memory holds nothing a peer may not see (issue 16: an id in an answer, such as a code
    comment naming its author, reached peers through the brief). Under the vote over answers
    each carries its answer's ``evidence``."""
    entries: list[MemoryItem] = []
    for p in proposals:
        if not p["ok"] or p["agent"] not in supports:
            continue
        item: MemoryItem = {
            "round": round_number,
            "agent": p["agent"],
            "answer": answer_view(p["answer"]) if p["answer"] else "",
            "reasoning": view(p),
            "support": supports[p["agent"]],
            "weight": 1.0,
        }
        if evidence is not None:
            item["evidence"] = evidence.get(p["answer"] or p["agent"], 0.0)
        entries.append(item)
    return entries
