"""Structured-output schemas, with a length cap on every string field.

Small local models keep writing inside a JSON string until their token limit unless the schema
caps it (docs/cli.md, "Embedded local models"), so every string has ``maxLength``. Servers that
enforce the schema (llama.cpp, vLLM) never exceed it; for those that do not, values are clamped
on parsing rather than rejected, so an over-long critique is kept in part instead of failing the
whole review.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

WEIGHT_LIMIT = 100


def _clamp_weight(value: Any) -> Any:
    """Clamp a weight into range; a NaN or infinite one is an unreadable reply, not a number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"weight must be a finite number, got {value!r}")
        return max(-WEIGHT_LIMIT, min(WEIGHT_LIMIT, round(value)))
    return value


def cut_to(limit: int) -> BeforeValidator:
    """Cut an over-long string to ``limit`` on parsing, for servers that ignore ``maxLength``."""

    def cut(value: Any) -> Any:
        return value[:limit] if isinstance(value, str) else value

    return BeforeValidator(cut)


def capped_text(limit: int) -> Any:
    """A string type capped at ``limit`` characters in the schema, and cut to it on parsing."""
    return Annotated[str, cut_to(limit), Field(max_length=limit)]


@lru_cache(maxsize=64)
def score_schema(critique_max_chars: int) -> type[BaseModel]:
    """One candidate's review: the critique first, so the weight is written after reasoning."""
    return create_model(
        "CandidateReview",
        __config__=ConfigDict(extra="ignore"),
        critique=(capped_text(critique_max_chars), Field(description="Short critique.")),
        weight=(
            Annotated[int, BeforeValidator(_clamp_weight)],
            Field(ge=-WEIGHT_LIMIT, le=WEIGHT_LIMIT, description="Endorsement, -100 to +100."),
        ),
    )


@lru_cache(maxsize=256)
def batch_review_schema(labels: tuple[str, ...], critique_max_chars: int) -> type[BaseModel]:
    """One field per candidate label, all required, so every candidate is scored exactly once."""
    score = score_schema(critique_max_chars)
    fields: dict[str, Any] = {
        f"candidate_{i}": (score, Field(alias=label)) for i, label in enumerate(labels)
    }
    return create_model(
        "PeerReview", __config__=ConfigDict(extra="ignore", populate_by_name=True), **fields
    )


@lru_cache(maxsize=64)
def answer_schema(answer_max_chars: int) -> type[BaseModel]:
    """The answer alone, asked for when a free-text reply had no usable final line."""
    return create_model(
        "FinalAnswer",
        __config__=ConfigDict(extra="ignore"),
        answer=(capped_text(answer_max_chars), Field(description="The final answer only.")),
    )


def scores_by_label(parsed: dict[str, Any], labels: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Read a parsed batch review (dumped by field name) back into label -> score."""
    return {label: parsed[f"candidate_{i}"] for i, label in enumerate(labels)}


__all__ = [
    "WEIGHT_LIMIT",
    "answer_schema",
    "batch_review_schema",
    "capped_text",
    "cut_to",
    "score_schema",
    "scores_by_label",
]
