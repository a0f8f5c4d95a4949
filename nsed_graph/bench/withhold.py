"""Keep a dataset's text out of what a benchmark writes, for sets that ask not to be republished.

GPQA's authors ask that its questions not appear in plain text where crawlers can read them,
and a run's files are meant to be committed next to its report. Model texts quote and
paraphrase the question and its options, so they are withheld too; what a report and a resume
need survives: ids, extracted answers, verdicts, weights, supports, calls and tokens.
"""

from __future__ import annotations

from typing import Any

WITHHELD = "[withheld]"
TEXT_KEYS = frozenset(
    {"task", "text", "critique", "brief", "response", "reasoning", "error", "message"}
)
"""Fields that carry a question or a model's words, wherever they sit in a row or run record.
Errors are among them: an unparseable reply is quoted in its error. A withheld error is still
an error (its kind is kept in ``failures``), so error counts and ``retry_errors`` still work."""
LONGEST_KEPT = 200
"""A longer string under any other key is withheld too: a model's words in a field yet unnamed."""


def withhold_text(value: Any, key: str | None = None) -> Any:
    """``value`` with every string under ``TEXT_KEYS``, or longer than ``LONGEST_KEPT``,
    replaced by ``WITHHELD``; everything else kept as it is."""
    if isinstance(value, dict):
        return {k: withhold_text(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [withhold_text(v, key) for v in value]
    if isinstance(value, str) and value and (key in TEXT_KEYS or len(value) > LONGEST_KEPT):
        return WITHHELD
    return value
