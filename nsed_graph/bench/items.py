"""The benchmark item every loader returns and every method and checker reads.

Its own module so that the loaders (``datasets``) and the checkers (``checkers``) can both use it
without importing each other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, get_args

__all__ = ["ANSWER_FORMATS", "AnswerFormat", "BenchItem", "Choice", "frozen_metadata"]

AnswerFormat = Literal["number", "choice", "latex", "code", "text"]
ANSWER_FORMATS: tuple[AnswerFormat, ...] = get_args(AnswerFormat)


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a multiple-choice item, as shown to the model."""

    label: str
    text: str


def frozen_metadata(metadata: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(metadata))


def _no_metadata() -> Mapping[str, object]:
    return frozen_metadata({})


@dataclass(frozen=True, slots=True)
class BenchItem:
    """One benchmark question in the form every method and checker understands.

    ``question`` is complete as posed (multiple-choice options included). ``answer`` is the gold
    answer in the item's ``format``; for code it is a reference solution, which ``tests`` accept.
    ``test_setup`` is code run before a candidate solution (imports and helpers the prompt
    shows, so an answer that omits them is not failed for it). ``category`` is DarkBench's dark
    pattern. Solutions are deliberately left out of ``metadata`` so they cannot leak into a prompt.
    ``publishable`` is False for sets whose authors ask that they not be republished in plain
    text (GPQA): the runner then keeps the question and every model text out of its files.
    """

    id: str
    dataset: str
    question: str
    answer: str
    format: AnswerFormat
    choices: tuple[Choice, ...] = ()
    tests: str | None = None
    entry_point: str | None = None
    test_setup: str = ""
    category: str | None = None
    metadata: Mapping[str, object] = field(default_factory=_no_metadata, hash=False)
    publishable: bool = True

    def scoring_key(self) -> str:
        """A short digest of everything a verdict depends on (gold answer, choices, tests), so
        that rows can tell whether they were scored against this copy of the item."""
        scored = [self.format, self.answer, [[c.label, c.text] for c in self.choices], self.tests]
        scored.append(self.test_setup)
        return hashlib.sha256(json.dumps(scored).encode()).hexdigest()[:16]
