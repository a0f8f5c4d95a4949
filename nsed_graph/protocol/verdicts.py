"""Reading a reasoned review's verdicts from its marked final lines (docs/protocol.md,
"3. Review").

A reviewer that solves before it judges (``review_mode="reasoned"``) writes free text and ends
with one line per candidate: ``VERDICT <label>: <weight> <why>``. As with a proposal's answer,
the weight is read from the end, after the reasoning, and not forced into a schema that leaves
a small model judging without solving (measured: 147 of the 1.5B's 177 one-call JSON critiques
opened with a verdict; 24 held any arithmetic).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

VERDICT_MARKER = "VERDICT"
WEIGHT_LIMIT = 100
_VERDICT_LINE = re.compile(
    r"^\s*[*#>\-\s]*verdict\s+(?:for\s+)?(?:candidate\s+)?\**([A-Za-z]{1,3})\**\s*[:：=]\s*"
    r"\**([+-]?\s?\d+(?:\.\d+)?)\**\s*[,;.:\-–—]*\s*(.*)$",
    re.IGNORECASE,
)


def read_verdicts(
    text: str, labels: Sequence[str], *, critique_max_chars: int
) -> dict[str, tuple[float, str]]:
    """Label -> (weight clamped to [-100, 100], the line's reason cut to ``critique_max_chars``).

    Only the shown labels count; a label given twice keeps its last line, as a reviewer that
    corrects itself means its last word.
    """
    wanted = {label.upper(): label for label in labels}
    found: dict[str, tuple[float, str]] = {}
    for line in text.splitlines():
        match = _VERDICT_LINE.match(line)
        if match is None or match.group(1).upper() not in wanted:
            continue
        weight = float(match.group(2).replace(" ", ""))
        weight = max(-WEIGHT_LIMIT, min(WEIGHT_LIMIT, weight))
        reason = match.group(3).strip()[:critique_max_chars]
        found[wanted[match.group(1).upper()]] = (weight, reason)
    return found


__all__ = ["VERDICT_MARKER", "read_verdicts"]
