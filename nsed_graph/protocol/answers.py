"""Answer extraction and normalisation, per answer format.

Models reason in free text and end with a marked final line (``ANSWER: 42``); this module finds
that answer and puts it in a canonical form so that equal answers compare equal. Answer pooling
in the vote and the benchmark checkers both rely on that equality.

An answer that is absurd for its format (a number of hundreds of digits, an endless repetition
of a short pattern) is not an answer: small models sometimes run away until their token cap, and
such a string would otherwise be pooled, voted on and shown as the winner. ``answer_problem``
says why an answer cannot be taken, and ``normalize_answer`` and ``extract_answer`` return None
for it, so a caller treats it exactly as a reply with no readable answer (the proposer's short
re-ask for the answer alone, then its failure path). ``extraction_problem`` says the same of a
whole reply. The limits are module constants (``MAX_NUMBER_DIGITS``, ``MAX_REPEATS``,
``MAX_REPEATS_FREE_FORM``), chosen so that no legitimate answer reaches them.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Literal

AnswerFormat = Literal["number", "integer", "choice", "latex", "code", "text"]
"""How a task's answer is written, so that equal answers compare equal
(``NSEDConfig.answer_format``)."""

ANSWER_MARKER = "ANSWER:"

MAX_NUMBER_DIGITS = 40
"""Most digits one number of a ``number``, ``integer`` or ``latex`` answer may have (sign,
point, thousands separators and fraction bar not counted; numerator and denominator together).

Benchmark answers are short (GSM8K and AIME: at most a few digits; MATH: small exact values),
and even a big exact integer such as 30! has 33 digits, so a longer number is a runaway
decimal (issue 17: ``32.1100011111...``, about 700 digits), not a result anyone asked for."""

MAX_REPEAT_UNIT = 4
"""Length of the longest pattern the repetition rules look for: a runaway repeats a digit or
a few characters (``0101...``, ``))))``); longer repeats are left alone, since real code and
prose repeat whole lines."""

MAX_REPEATS = 30
"""For ``latex``: a pattern of up to ``MAX_REPEAT_UNIT`` characters repeated this many times
in a row (``+1+1+1...``, ``)))...``, ``\\pi\\pi\\pi...``) makes the answer an endless
repetition; nothing in a short mathematical answer repeats 30 times.

Patterns of digits alone and of whitespace do not count: the digits of a number are bounded by
``MAX_NUMBER_DIGITS`` instead (``10^{30}`` written out has 30 zeros and is a fine answer), and
whitespace is layout. For the same reason ``number`` and ``integer`` answers, which are one
number, have only the digit limit."""

MAX_REPEATS_FREE_FORM = 200
"""The same rule for ``code`` and ``text``, at a much higher threshold: code has separator
comments (``# ----``), deep indentation and data literals (``[0, 0, 0, ...]``), and prose has
Markdown rules and tables, all of which repeat a short pattern dozens of times. Two hundred
repeats (a line of 200 ``=`` or a literal of 200 zeros) is past what a formatter or a person
writes, and is where a model stuck on one token ends up. Whitespace never counts."""

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
_DIGIT = re.compile(r"\d")
_REPEATS = re.compile(rf"(.{{1,{MAX_REPEAT_UNIT}}}?)\1{{{MAX_REPEATS - 1},}}", re.DOTALL)
_REPEATS_FREE_FORM = re.compile(
    rf"(.{{1,{MAX_REPEAT_UNIT}}}?)\1{{{MAX_REPEATS_FREE_FORM - 1},}}", re.DOTALL
)
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


def reasoning_before_answer(text: str) -> str:
    """The reply without its last marked answer line (and what follows it): the worked part."""
    lines = text.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        if _MARKER_LINE.match(lines[index]):
            return "\n".join(lines[:index]).strip()
    return text.strip()


def restatement(text: str, answer_format: AnswerFormat, min_chars: int) -> str | None:
    """Why a later-round reply is no re-solve, or None when it is one.

    Measured: 57 of 60 later-round proposals of the 1.5B were ``ANSWER: 18`` and nothing else,
    and such copies turned right answers wrong seven times as often as the reverse. A reply
    whose worked part is shorter than ``min_chars`` only restates an answer. Code is exempt: the
    code is the work.
    """
    if answer_format == "code" or min_chars <= 0:
        return None
    worked = len(reasoning_before_answer(text))
    if worked >= min_chars:
        return None
    return f"{worked} characters of reasoning before the answer, {min_chars} needed"


def extract_answer(text: str, answer_format: AnswerFormat) -> str | None:
    """Find the answer in a model's reply, or None when none can be found.

    The marked final line wins; without it, a format-specific fallback (last ``\\boxed{}``,
    last number, last code block) is tried, so a model that forgot the marker is not lost.
    The result is normalised (see ``normalize_answer``); an absurd answer (see
    ``answer_problem``) counts as none, and ``extraction_problem`` says why.
    """
    return _extract(text, answer_format)[0]


def extraction_problem(text: str, answer_format: AnswerFormat) -> str | None:
    """Why ``extract_answer`` finds no answer in ``text``, in a few words; None when it finds one.

    When the reply has a marked answer, its problem is given (``"ANSWER line: a number of 712
    digits"``), since that is what the model meant to answer; otherwise the whole reply's
    (``"no number"``). Meant for the record of a failed proposal.
    """
    return _extract(text, answer_format)[1]


def _extract(text: str, answer_format: AnswerFormat) -> tuple[str | None, str | None]:
    if not text or not text.strip():
        return None, "an empty reply"
    candidate = marked_answer(text)
    problems: list[str] = []
    if candidate is not None:
        found, problem = _extract_from(candidate, answer_format, whole_reply=False)
        if found is not None:
            return found, None
        problems.append(f"ANSWER line: {problem}")
    found, problem = _extract_from(text, answer_format, whole_reply=True)
    if found is not None:
        return found, None
    problems.append(problem or "no answer")
    return None, problems[0]


def _extract_from(
    source: str, answer_format: AnswerFormat, *, whole_reply: bool
) -> tuple[str | None, str | None]:
    """(canonical answer, None) or (None, why not)."""
    if answer_format in ("number", "integer", "latex"):  # a Unicode minus is a minus
        source = source.replace("\u2212", "-")
    boxed = boxed_contents(source)
    if answer_format in ("number", "integer"):
        region = boxed[-1] if boxed else source
        numbers = _NUMBER.findall(region)
        if not numbers:
            return None, "no number"
        return _read(numbers[-1] if whole_reply else numbers[0], answer_format)
    if answer_format == "choice":
        if boxed:
            return _read(boxed[-1], answer_format)
        if whole_reply:
            in_prose = _CHOICE_IN_PROSE.findall(source)
            if in_prose:
                return in_prose[-1].upper(), None
            return None, f"no choice label ({CHOICE_LABELS[0]}-{CHOICE_LABELS[-1]})"
        return _read(source, answer_format)
    if answer_format == "latex":
        if boxed:
            return _read(boxed[-1], answer_format)
        if whole_reply:
            return None, "no ANSWER line and no \\boxed{}"
        return _read(source, answer_format)
    if answer_format == "code":
        blocks = _CODE_FENCE.findall(source)
        if blocks:
            return _read(blocks[-1], answer_format)
        if whole_reply:
            return None, "no ANSWER line and no code block"
        return _read(source, answer_format)
    if whole_reply:
        return None, "no ANSWER line"
    return _read(source, answer_format)


def normalize_answer(answer: str, answer_format: AnswerFormat) -> str | None:
    """Canonical form of an answer: equal answers give equal strings; None when there is none.

    number: ``1,000`` / ``1000.0`` / ``$1000`` -> ``1000``; fractions reduced; integer: the same,
    rounded only when exact. choice: the upper-case letter. latex: spacing and sizing commands
    removed, ``\\dfrac`` -> ``\\frac``. code: trailing whitespace and fences stripped. text:
    case-folded, whitespace collapsed, outer punctuation dropped.

    None exactly when ``answer_problem`` gives a reason: nothing readable, or an answer absurd
    for its format.
    """
    return _read(answer, answer_format)[0]


def answer_problem(answer: str, answer_format: AnswerFormat) -> str | None:
    """Why ``answer`` cannot be taken as an answer in ``answer_format``; None when it can.

    The reason is a few words for a record or a failure message: ``"a number of 712 digits"``,
    ``"an endless repetition of 'ab' (350 times)"``, ``"no number"``, ``"an empty answer"``.

    Absurd means past one of this module's limits: a number of more than ``MAX_NUMBER_DIGITS``
    digits (number, integer, latex), or a pattern of up to ``MAX_REPEAT_UNIT`` characters
    repeated ``MAX_REPEATS`` times in a row (latex) or ``MAX_REPEATS_FREE_FORM`` times (code,
    text). A choice answer is one label or none, so it is never absurd, only missing. The rules
    look at what ``normalize_answer`` would keep (for a number, the number it reads, not the
    prose around it), so ``normalize_answer(answer, f)`` is None exactly when this is not None.

    Callers that record why a proposal failed use this on the answer they tried (the
    structured re-ask's ``answer`` field), and ``extraction_problem`` on a whole reply.
    """
    return _read(answer, answer_format)[1]


def _read(answer: str, answer_format: AnswerFormat) -> tuple[str | None, str | None]:
    """(canonical answer, None) or (None, why there is none): the one place that decides."""
    text = answer.strip()
    if not text:
        return None, "an empty answer"
    if answer_format in ("number", "integer"):
        return _read_number(text)
    if answer_format == "choice":
        match = _CHOICE.search(text) or _CHOICE.search(text.upper())
        if match is None:
            return None, f"no choice label ({CHOICE_LABELS[0]}-{CHOICE_LABELS[-1]})"
        return match.group(1), None
    if answer_format == "latex":
        inner = boxed_contents(text)
        value = inner[-1] if inner else text.strip("$ ")
        for pattern, replacement in _LATEX_NOISE:
            value = pattern.sub(replacement, value)
        value = value.rstrip(".")
        if not value:
            return None, "an empty answer"
        problem = _too_many_digits(_NUMBER.findall(value)) or _repetition(
            value, _REPEATS, digits_count=False
        )
        return (None, problem) if problem else (value, None)
    if answer_format == "code":
        blocks = _CODE_FENCE.findall(text)
        code = blocks[-1] if blocks else text.strip("`")
        lines = [line.rstrip() for line in code.strip("\n").splitlines()]
        value = "\n".join(lines).strip()
    else:
        value = " ".join(text.casefold().split()).strip(" .,;:!?\"'`*")
    if not value:
        return None, "an empty answer"
    problem = _repetition(value, _REPEATS_FREE_FORM, digits_count=True)
    return (None, problem) if problem else (value, None)


def _read_number(text: str) -> tuple[str | None, str | None]:
    match = _NUMBER.search(text.replace("$", "").replace(" ", "").replace("\u2212", "-"))
    if not match:
        return None, "no number"
    raw = match.group(0)
    problem = _too_many_digits([raw])
    if problem:  # checked before Fraction, which would otherwise parse a runaway in full
        return None, problem
    try:
        value = Fraction(raw.replace(",", ""))
    except ZeroDivisionError:
        return None, "a division by zero"
    except ValueError:  # pragma: no cover - _NUMBER only matches what Fraction reads
        return None, "no number"
    if value.denominator == 1:
        return str(value.numerator), None
    return f"{value.numerator}/{value.denominator}", None


def _too_many_digits(numbers: list[str]) -> str | None:
    for number in numbers:
        digits = len(_DIGIT.findall(number))
        if digits > MAX_NUMBER_DIGITS:
            return f"a number of {digits} digits"
    return None


def _repetition(value: str, pattern: re.Pattern[str], *, digits_count: bool) -> str | None:
    """The first run of one short pattern at or past ``pattern``'s threshold, described.

    Whitespace patterns never count; digit patterns only with ``digits_count`` (where no digit
    limit applies)."""
    for match in pattern.finditer(value):
        unit = match.group(1)
        if unit.isspace() or (not digits_count and unit.isdigit()):
            continue
        return f"an endless repetition of {unit!r} ({len(match.group(0)) // len(unit)} times)"
    return None


def answers_equal(left: str | None, right: str | None, answer_format: AnswerFormat) -> bool:
    """Whether two answers are the same after normalisation; a missing answer equals nothing."""
    if left is None or right is None:
        return False
    a, b = normalize_answer(left, answer_format), normalize_answer(right, answer_format)
    return a is not None and a == b
