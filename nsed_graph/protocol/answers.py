"""Answer extraction and normalisation, per answer format.

Models reason in free text and end with a marked final line (``ANSWER: 42``); this module finds
that answer and puts it in a canonical form so that equal answers compare equal. Answer pooling
in the vote and the benchmark checkers both rely on that equality.
"""

from __future__ import annotations

import re
from fractions import Fraction

from nsed_graph.config import AnswerFormat

ANSWER_MARKER = "ANSWER:"

_MARKER_LINE = re.compile(r"^\s*[*#>\s]*(?:final\s+)?answer\s*[:：]\s*(.*)$", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?")
CHOICE_LABELS = "ABCDEFGH"
"""The letters a multiple-choice answer is read as: more would make stray capitals in prose
("I think", "a TV") read as choices."""
_CHOICE = re.compile(rf"\(?\b([{CHOICE_LABELS}])\b\)?")
_CHOICE_IN_PROSE = re.compile(
    rf"(?:answer|option|choice)\s*(?:is|:)?\s*(?:option\s*)?\(?\b([{CHOICE_LABELS}])\b\)?",
    re.IGNORECASE,
)
_CODE_FENCE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)
_LATEX_NOISE = (
    (re.compile(r"\\left|\\right|\\!|\\,|\\;|\\:|\\ "), ""),
    (re.compile(r"\\[dt]frac"), r"\\frac"),
    (re.compile(r"\\text\{\s*\}"), ""),
    (re.compile(r"\^\{\\circ\}|\^\\circ|°"), ""),
    # Spaces go, except one that ends a command before a letter: "\cot x" is not "\cotx".
    (
        re.compile(r"(\\[A-Za-z]+)\s+(?=[A-Za-z])|\s+"),
        lambda m: f"{m.group(1)} " if m.group(1) else "",
    ),
)


def boxed_contents(text: str) -> list[str]:
    """Contents of every ``\\boxed{...}`` (and ``\\fbox{...}``), with nested braces balanced."""
    found: list[str] = []
    for match in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, start = 1, match.end()
        for index in range(start, len(text)):
            char = text[index]
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    found.append(text[start:index])
                    break
    return found


def marked_answer(text: str) -> str | None:
    """The text after the last ``ANSWER:`` marker, or None when the model wrote none.

    The marker may be followed by the answer on the same line or, for code, by a fenced block
    on the next lines; everything after the last marker is taken.
    """
    lines = text.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        match = _MARKER_LINE.match(lines[index])
        if match:
            rest = "\n".join([match.group(1), *lines[index + 1 :]]).strip()
            return rest or None
    return None


def extract_answer(text: str, answer_format: AnswerFormat) -> str | None:
    """Find the answer in a model's reply, or None when none can be found.

    The marked final line wins; without it, a format-specific fallback (last ``\\boxed{}``,
    last number, last code block) is tried, so a model that forgot the marker is not lost.
    The result is normalised (see ``normalize_answer``).
    """
    if not text or not text.strip():
        return None
    candidate = marked_answer(text)
    sources = [candidate] if candidate is not None else []
    sources.append(text)
    for source in sources:
        found = _extract_from(source, answer_format, whole_reply=source is text)
        if found is not None:
            return found
    return None


def _extract_from(source: str, answer_format: AnswerFormat, *, whole_reply: bool) -> str | None:
    if answer_format in ("number", "integer", "latex"):  # a Unicode minus is a minus
        source = source.replace("\u2212", "-")
    boxed = boxed_contents(source)
    if answer_format in ("number", "integer"):
        region = boxed[-1] if boxed else source
        numbers = _NUMBER.findall(region)
        if not numbers:
            return None
        return normalize_answer(numbers[-1] if whole_reply else numbers[0], answer_format)
    if answer_format == "choice":
        if boxed:
            return normalize_answer(boxed[-1], answer_format)
        if whole_reply:
            in_prose = _CHOICE_IN_PROSE.findall(source)
            return in_prose[-1].upper() if in_prose else None
        return normalize_answer(source, answer_format)
    if answer_format == "latex":
        if boxed:
            return normalize_answer(boxed[-1], answer_format)
        return None if whole_reply else normalize_answer(source, answer_format)
    if answer_format == "code":
        blocks = _CODE_FENCE.findall(source)
        if blocks:
            return normalize_answer(blocks[-1], answer_format)
        return None if whole_reply else normalize_answer(source, answer_format)
    if whole_reply:
        return None
    return normalize_answer(source, answer_format)


def normalize_answer(answer: str, answer_format: AnswerFormat) -> str | None:
    """Canonical form of an answer: equal answers give equal strings.

    number: ``1,000`` / ``1000.0`` / ``$1000`` -> ``1000``; fractions reduced; integer: the same,
    rounded only when exact. choice: the upper-case letter. latex: spacing and sizing commands
    removed, ``\\dfrac`` -> ``\\frac``. code: trailing whitespace and fences stripped. text:
    case-folded, whitespace collapsed, outer punctuation dropped.
    """
    text = answer.strip()
    if not text:
        return None
    if answer_format in ("number", "integer"):
        return _normalize_number(text)
    if answer_format == "choice":
        match = _CHOICE.search(text) or _CHOICE.search(text.upper())
        return match.group(1) if match else None
    if answer_format == "latex":
        inner = boxed_contents(text)
        value = inner[-1] if inner else text.strip("$ ")
        for pattern, replacement in _LATEX_NOISE:
            value = pattern.sub(replacement, value)
        return value.rstrip(".") or None
    if answer_format == "code":
        blocks = _CODE_FENCE.findall(text)
        code = blocks[-1] if blocks else text.strip("`")
        lines = [line.rstrip() for line in code.strip("\n").splitlines()]
        return "\n".join(lines).strip() or None
    folded = " ".join(text.casefold().split())
    return folded.strip(" .,;:!?\"'`*") or None


def _normalize_number(text: str) -> str | None:
    match = _NUMBER.search(text.replace("$", "").replace(" ", "").replace("\u2212", "-"))
    if not match:
        return None
    raw = match.group(0).replace(",", "")
    try:
        value = Fraction(raw)
    except (ValueError, ZeroDivisionError):
        return None
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator}"


def answers_equal(left: str | None, right: str | None, answer_format: AnswerFormat) -> bool:
    """Whether two answers are the same after normalisation; a missing answer equals nothing."""
    if left is None or right is None:
        return False
    a, b = normalize_answer(left, answer_format), normalize_answer(right, answer_format)
    return a is not None and a == b
