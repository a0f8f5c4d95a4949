"""Keep a dataset's text out of what a benchmark writes, for sets that ask not to be republished.

GPQA's authors ask that its questions not appear in plain text where crawlers can read them,
and a run's files are meant to be committed next to its report. Model texts quote and
paraphrase the question and its options, so they are withheld too; what a report and a resume
need survives: ids, short extracted answers, verdicts, weights, supports, calls and tokens.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WITHHELD = "[withheld]"
TEXT_KEYS = frozenset(
    {"task", "text", "critique", "brief", "response", "reasoning", "check", "error", "message"}
)
"""Fields that carry a question or a model's words, wherever they sit in a row or run record.
Errors and checks are among them: an unparseable reply is quoted in its error, a code answer's
output in its check."""
LONGEST_KEPT = 200
"""A longer string anywhere else, a key included, is withheld too: an answer that is a whole
program (a vote count is keyed by answer), or a model's words in a field yet unnamed."""
_KIND_MAX = 40
PRIVATE_DIR = ".withheld"
SCORING_FAILED = "scoring failed"
"""How a row's ``check`` starts when its answer could not be checked (it counts as wrong)."""
_CHECK_KINDS = (SCORING_FAILED, "tests failed")
"""The only ``check`` prefixes kept: any other could quote a gold answer ("expected 3:4")."""


def private_dir(out: Path) -> Path:
    """The folder in a run directory for what a resume must reuse but nobody may publish:
    withheld items' shared draws, which hold the models' words.

    It carries its own ``.gitignore`` (as pytest's cache does), so committing the run
    directory leaves it out without a rule of the user's own; anyone copying the directory by
    other means is warned by its name."""
    folder = out / PRIVATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".gitignore").write_text(
        "# nsed-graph: texts of items whose authors ask that they not be republished\n*\n",
        encoding="utf-8",
    )
    return folder


def withhold_text(row: Any) -> Any:
    """``row`` as JSON would store it, with every string under ``TEXT_KEYS`` or longer than
    ``LONGEST_KEPT`` withheld. An error keeps its kind (``"timeout: [withheld]"``) so that
    a reader can still tell a timeout from a crash, and a check that failed from a verdict."""
    return _withhold(json.loads(json.dumps(row, default=str)), None)


def _withhold(value: Any, key: str | None) -> Any:
    if isinstance(value, dict):
        kept: dict[str, Any] = {}
        for index, (name, inner) in enumerate(value.items()):
            shown = name if len(name) <= LONGEST_KEPT else f"{WITHHELD} #{index}"
            kept[shown] = _withhold(inner, name)
        return kept
    if isinstance(value, list):
        return [_withhold(inner, key) for inner in value]
    if not isinstance(value, str) or not value:
        return value
    if key == "check" and not value.startswith(_CHECK_KINDS):
        return WITHHELD
    if key in ("error", "message", "check"):
        kind, colon, _ = value.partition(":")
        return f"{kind}: {WITHHELD}" if colon and len(kind) <= _KIND_MAX else WITHHELD
    if key in TEXT_KEYS or len(value) > LONGEST_KEPT:
        return WITHHELD
    return value
