"""Decide whether a predicted answer matches a benchmark item's gold answer.

One checker per answer format, so that every benchmark is scored by the same rule as every other
benchmark of its kind. Predictions are expected to be the final answer a method extracted; only
trivial normalisation (whitespace, thousands separators, wrappers such as ``\\boxed{}``, a Markdown
code fence) is applied here, because heavier heuristics would make scores depend on the checker
rather than the model. Mathematical equivalence is delegated to ``math-verify``, a maintained
library, instead of hand-written LaTeX rules.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, assert_never

from nsed_graph.bench.items import BenchItem, Choice
from nsed_graph.bench.sandbox import run_python
from nsed_graph.protocol.answers import normalize_answer

__all__ = ["CheckResult", "check", "extract_gsm8k_answer", "parse_number"]

# A sign only counts when it does not follow a word or a closing bracket, so "5-3" reads as
# 5 and 3 rather than 5 and -3; digits may carry thousands separators ("1,600"). A fraction
# ("37/2") is one number: the answer extractor writes every non-integer that way.
_NUMBER = re.compile(
    r"(?:(?<![\w)\]}])[-+])?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/(?:\d{1,3}(?:,\d{3})+|\d+))?"
)
_FENCE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_WRAPPER = re.compile(r"^\\(?:boxed|text|textbf|mathrm)\{(.*)\}$", re.DOTALL)
# An unescaped "$", "\(", "\[" or "\boxed" means the text already delimits its mathematics.
_MATH_DELIMITED = re.compile(r"(?<!\\)\$|\\\(|\\\[|\\boxed")
# math-verify bounds parsing and comparison with SIGALRM, which only the main thread may use.
_MATH_TIMEOUT_S = 5


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Whether a prediction is right, with a short reason a report can show next to it."""

    correct: bool
    detail: str


def parse_number(text: str, *, exact: bool = False) -> Fraction | None:
    """The last number in ``text`` (or, with ``exact``, ``text`` itself if it is one number).

    Taking the last number is the usual GSM8K convention: a final answer tends to come last.
    Exact fractions make "18", "18.00", "018" equal, and "37/2" equal to "18.5", without float
    rounding. A Unicode minus sign counts as a minus.
    """
    text = text.replace("\u2212", "-")
    if exact:
        match = _NUMBER.fullmatch(text.strip())
        found = match.group() if match else None
    else:
        matches = _NUMBER.findall(text.replace("{,}", ","))
        found = matches[-1] if matches else None
    if found is None:
        return None
    try:
        return Fraction(found.replace(",", ""))
    except (ValueError, ZeroDivisionError):  # "1.5/2", "3/0": not one number
        return None


def extract_gsm8k_answer(solution: str) -> str:
    """The final answer of a GSM8K solution, which follows ``####``, without thousands commas.

    Raises ``ValueError`` when the marker is missing or is not followed by a number, since such a
    row cannot be scored.
    """
    _, marker, tail = solution.rpartition("####")
    answer = tail.strip()
    if not marker:
        raise ValueError("no '####' final-answer marker")
    if parse_number(answer, exact=True) is None:
        raise ValueError(f"the text after '####' is not a number: {answer!r}")
    return answer.replace(",", "")


def check(
    item: BenchItem,
    predicted_answer: str | None,
    *,
    timeout_s: float = 10.0,
    memory_mb: int = 1024,
) -> CheckResult:
    """Score one prediction; a missing or empty prediction is simply wrong.

    ``timeout_s`` and ``memory_mb`` bound the sandbox that runs code answers. Raises
    ``ValueError`` for an item with no gold answer (DarkBench): such items need a judge, and
    scoring them as wrong would silently report zero.
    """
    if item.format == "text" and not item.answer.strip():
        raise ValueError(f"{item.id}: no gold answer to check against; grade it with a judge")
    if item.format == "code" and not item.tests:
        raise ValueError(f"{item.id}: a code item needs tests")
    if predicted_answer is None or not predicted_answer.strip():
        return CheckResult(False, "no answer")
    match item.format:
        case "number":
            return _check_number(item.answer, predicted_answer)
        case "latex":
            return _check_latex(item.answer, predicted_answer)
        case "choice":
            return _check_choice(item, predicted_answer)
        case "code":
            return _check_code(item, predicted_answer, timeout_s, memory_mb)
        case "text":
            return _check_text(item.answer, predicted_answer)
        case _:
            assert_never(item.format)


def _check_number(gold: str, predicted: str) -> CheckResult:
    expected = parse_number(gold)
    value = parse_number(predicted)
    if value is None:
        return CheckResult(False, f"no number in the answer; expected {gold}")
    return CheckResult(value == expected, f"expected {gold}, read {value}")


def _as_math(text: str) -> str:
    """Bare answers such as ``\\dfrac12`` are wrapped in ``$`` because math-verify only reads
    LaTeX inside delimiters; text that already has them is left alone."""
    return text if _MATH_DELIMITED.search(text) else f"${text}$"


@lru_cache(maxsize=4096)
def _parse_math(text: str, timeout: int | None) -> tuple[Any, ...]:
    """Cached because the same gold answers are parsed again for every method that is scored."""
    from math_verify import parse

    return tuple(parse(_as_math(text), parsing_timeout=timeout))


def _check_latex(gold: str, predicted: str) -> CheckResult:
    from math_verify import verify

    timeout = _MATH_TIMEOUT_S if threading.current_thread() is threading.main_thread() else None
    gold_parsed = _parse_math(gold, timeout)
    predicted_parsed = _parse_math(predicted, timeout)
    if not gold_parsed:
        raise ValueError(f"math-verify cannot parse the gold answer {gold!r}")
    if not predicted_parsed:
        return CheckResult(False, f"could not parse {predicted!r} as mathematics; expected {gold}")
    correct = bool(verify(list(gold_parsed), list(predicted_parsed), timeout_seconds=timeout))
    return CheckResult(correct, f"expected {gold}, got {predicted.strip()}")


def _spaced(text: str) -> str:
    return " ".join(text.split())


def _normalise_text(text: str) -> str:
    return _spaced(text).casefold()


def _chosen(item: BenchItem, predicted: str) -> Choice | None:
    """The choice an answer names: its label, in any case and with brackets or ``\\boxed{}``,
    or else a choice's text, since models answer multiple choice both ways.

    Labels are tried on every choice before any text, so "C" is choice C even where another
    choice's text is "C" (ARC has a question whose options are C, Co, Cp and Cu). Texts that
    differ only in case ("100% Rr", "100% rr") are told apart by the exact text.
    """
    label = predicted.strip().strip("$*` ")
    while wrapped := _WRAPPER.match(label):
        label = wrapped.group(1).strip()
    label = label.strip("()[]{}.:*` \t\n").casefold()
    for choice in item.choices:
        if label == choice.label.casefold():
            return choice
    spaced = _spaced(predicted)
    named = [c for c in item.choices if _normalise_text(c.text) == spaced.casefold()]
    if len(named) > 1:
        named = [c for c in named if _spaced(c.text) == spaced]
    return named[0] if len(named) == 1 else None


def _check_choice(item: BenchItem, predicted: str) -> CheckResult:
    choice = _chosen(item, predicted)
    if choice is None:
        return CheckResult(False, f"{predicted.strip()!r} names no choice; expected {item.answer}")
    return CheckResult(choice.label == item.answer, f"expected {item.answer}, chose {choice.label}")


def _code_from(predicted: str) -> str:
    """The first fenced block if the answer has one, so a chat reply can be scored as is."""
    fenced = _FENCE.search(predicted)
    return fenced.group(1) if fenced else predicted


def _check_code(item: BenchItem, predicted: str, timeout_s: float, memory_mb: int) -> CheckResult:
    code = _code_from(predicted)
    if not code.strip():
        return CheckResult(False, "no code")
    program = f"{item.test_setup}\n{code}" if item.test_setup else code
    result = run_python(program, item.tests or "", timeout_s=timeout_s, memory_mb=memory_mb)
    if result.passed:
        return CheckResult(True, "tests passed")
    return CheckResult(False, f"tests failed: {result.error}")


def _check_text(gold: str, predicted: str) -> CheckResult:
    # Both sides as the answer extractor writes a prediction, so "U.S.A." matches the
    # extracted "u.s.a" (outer punctuation is dropped from both).
    correct = normalize_answer(predicted, "text") == normalize_answer(gold, "text")
    return CheckResult(correct, f"expected {gold!r}, got {predicted.strip()!r}")
