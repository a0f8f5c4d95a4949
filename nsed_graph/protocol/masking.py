"""Identity masking and fencing of peer text (docs/protocol.md, "3. Review").

Each reviewer sees the other proposals under opaque labels in its own seeded random order, so a
reviewer cannot favour a model it recognises (the sycophancy the paper measures on DarkBench)
and position bias averages out across reviewers. Peer text is untrusted: it is fenced, a fence
inside it is escaped, and names of agents, models and families are redacted from it.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Iterable, Sequence

from nsed_graph.protocol.gate import truncate_tokens
from nsed_graph.records import Proposal, Review

FENCE_OPEN = "<<<{kind} {label}>>>"
FENCE_CLOSE = "<<<END {kind} {label}>>>"
_NAME_EDGE = r"[A-Za-z0-9_]"
REDACTED = "[redacted]"
_FENCE_LIKE = re.compile(r"<<<|>>>")


def label(index: int) -> str:
    """Opaque label for position ``index``: A..Z, then AA, AB, ..."""
    letters = string.ascii_uppercase
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = letters[rest] + name
    return name


def assign_labels(
    candidates: Sequence[str],
    reviewer: str,
    *,
    seed: int,
    round_number: int,
    masking: bool,
    task: str,
) -> list[tuple[str, str]]:
    """(label, candidate id) pairs that ``reviewer`` will see, its own proposal left out.

    With masking the order is a shuffle seeded by (seed, task, round, reviewer), so runs
    reproduce but no two reviewers share a position bias, and no peer sits behind the same label
    on every task: reviewers score the first-shown candidate lower (issue 13: 74 reviews against
    41 on GSM8K), and an order fixed across tasks would turn that position bias into a bias
    against one agent. Without masking (an ablation) the labels are the candidates' own ids in
    their given order.
    """
    others = [c for c in candidates if c != reviewer]
    if not masking:
        return [(c, c) for c in others]
    rng = random.Random(f"{seed}:{round_number}:{reviewer}:{task}")
    shuffled = sorted(others)
    rng.shuffle(shuffled)
    return [(label(i), c) for i, c in enumerate(shuffled)]


def redact(text: str, names: Iterable[str]) -> str:
    """Replace every listed name (case-insensitive, longest first) with a neutral marker.

    Only whole names are replaced: an agent called ``coder`` leaves ``encoder`` alone. A name
    that is also an ordinary word (``max``) is still replaced where it stands alone; masking
    wins over fidelity there, so give agents distinctive ids.
    """
    unique = sorted({n for n in names if n and n.strip()}, key=len, reverse=True)
    if not unique:
        return text
    alternatives = "|".join(re.escape(n) for n in unique)
    pattern = re.compile(rf"(?<!{_NAME_EDGE})(?:{alternatives})(?!{_NAME_EDGE})", re.IGNORECASE)
    return pattern.sub(REDACTED, text)


def fence(label_text: str, body: str, *, kind: str = "CANDIDATE") -> str:
    """Wrap peer text so that nothing inside it can close the fence or pose as a new one."""
    escaped = _FENCE_LIKE.sub(lambda m: "‹‹‹" if m.group(0) == "<<<" else "›››", body)
    opening = FENCE_OPEN.format(kind=kind, label=label_text)
    return f"{opening}\n{escaped}\n{FENCE_CLOSE.format(kind=kind, label=label_text)}"


MIN_NAME_LENGTH = 3
"""Shorter names would redact ordinary words."""


def identity_names(names: Iterable[str]) -> list[str]:
    """The names that could reveal who wrote a text (agent ids, families, model names), as
    ``redact`` takes them: unique, and long enough not to be ordinary words."""
    return sorted({n for n in names if len(n) >= MIN_NAME_LENGTH})


def peer_view(proposal: Proposal, *, budget: int, names: Sequence[str]) -> str:
    """A proposal as another seat sees it: the answer first, the work cut to ``budget`` tokens,
    every identity redacted."""
    work = truncate_tokens(proposal["text"], budget)
    return redact(f"Final answer: {proposal['answer']}\n\nWork:\n{work}", names)


def critiques_received(
    reviews: Sequence[Review], agent: str, *, names: Sequence[str], limit: int
) -> list[str]:
    """What ``agent``'s proposal was told in the reviews of a round: the weight and the
    critique, redacted, at most ``limit`` of them."""
    found = [
        f"({s['weight']:+.0f}) {redact(s['critique'], names)}"
        for r in reviews
        if (s := r["scores"].get(agent)) is not None
    ]
    return found[:limit]
