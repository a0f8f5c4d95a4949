"""Answer extraction and normalisation per format: equal answers must compare equal, and an
answer absurd for its format (issue 17) is no answer."""

from fractions import Fraction
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsed_graph.config import AnswerFormat
from nsed_graph.protocol.answers import (
    MAX_NUMBER_DIGITS,
    MAX_REPEATS,
    MAX_REPEATS_FREE_FORM,
    answer_problem,
    answers_equal,
    boxed_contents,
    extract_answer,
    extraction_problem,
    marked_answer,
    normalize_answer,
)

FORMATS: tuple[AnswerFormat, ...] = get_args(AnswerFormat)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("17 + 25 = 42.\nANSWER: 42", "42"),
        ("Total is $1,250.\nANSWER: $1,250.00", "1250"),
        ("**Final Answer:** 18 apples", "18"),
        ("She has 3 left, then buys 5, so 8.", "8"),
        ("so x = \\boxed{070}", "70"),
        ("ANSWER: -3.5", "-7/2"),
        ("ANSWER: 3/6", "1/2"),
        ("ANSWER: \u22123", "-3"),  # a Unicode minus sign
        ("no digits here", None),
        ("", None),
    ],
)
def test_number_extraction(reply: str, expected: str | None) -> None:
    assert extract_answer(reply, "number") == expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Reasoning...\nANSWER: C", "C"),
        ("ANSWER: (b)", "B"),
        ("I think the answer is (D) because of entropy.", "D"),
        ("A train leaves. I compute. Therefore \\boxed{B}", "B"),
        ("A cat sat. I slept.", None),
    ],
)
def test_choice_extraction(reply: str, expected: str | None) -> None:
    assert extract_answer(reply, "choice") == expected


def test_latex_boxed_with_nested_braces() -> None:
    reply = "Thus the value is \\boxed{\\dfrac{1}{\\sqrt{2}}}."
    assert boxed_contents(reply) == ["\\dfrac{1}{\\sqrt{2}}"]
    assert extract_answer(reply, "latex") == "\\frac{1}{\\sqrt{2}}"
    assert answers_equal("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\dfrac{\\pi}{2})", "latex")


def test_code_answer_from_block_after_marker() -> None:
    reply = (
        "Plan first.\n```python\nprint(0)\n```\nANSWER:\n```python\ndef f(x):\n    return x  \n```"
    )
    assert extract_answer(reply, "code") == "def f(x):\n    return x"


def test_text_answer_normalised_and_marker_required() -> None:
    assert extract_answer("Thinking.\nAnswer: Paris.", "text") == "paris"
    assert extract_answer("Paris is the capital", "text") is None
    assert normalize_answer("  The   Eiffel Tower!  ", "text") == "the eiffel tower"


def test_last_marker_wins() -> None:
    assert marked_answer("ANSWER: 1\nwait, recheck\nANSWER: 2") == "2"
    assert extract_answer("ANSWER: 1\nwait, recheck\nANSWER: 2", "integer") == "2"


def test_missing_answers_are_never_equal() -> None:
    assert not answers_equal(None, None, "number")
    assert not answers_equal("abc", "abc", "number")
    assert answers_equal("1,000", "1000.0", "number")


# --- sanity of an extracted answer (issue 17) ---

# The 0.5B's round-2 answer in issue 17: a runaway decimal of about 700 digits.
RUNAWAY = "32.11000111110" + "1" * 300 + "10" * 200


def test_the_runaway_number_of_issue_17_is_no_answer() -> None:
    reply = f"17 + 25 = 42, so the total is\nANSWER: {RUNAWAY}"
    assert extract_answer(reply, "number") is None
    assert extract_answer(reply, "integer") is None
    assert normalize_answer(RUNAWAY, "number") is None
    assert answer_problem(RUNAWAY, "number") == "a number of 713 digits"
    assert extraction_problem(reply, "number") == "ANSWER line: a number of 713 digits"
    assert not answers_equal(RUNAWAY, RUNAWAY, "number")  # it cannot win a pool either


def test_a_runaway_after_the_marker_does_not_hide_a_boxed_answer() -> None:
    # as when a marker line holds nothing readable: the whole reply's fallback still applies
    reply = f"So \\boxed{{42}}.\nANSWER: {RUNAWAY}"
    assert extract_answer(reply, "number") == "42"
    assert extraction_problem(reply, "number") is None


@pytest.mark.parametrize(
    ("answer", "answer_format", "unit"),
    [
        ("\\frac{1}{2}" + "+1" * MAX_REPEATS, "latex", "+1"),
        ("x" + ")" * 40, "latex", ")"),
        ("\\pi" * 35, "latex", "\\pi"),
        ("ha" * MAX_REPEATS_FREE_FORM, "text", "ha"),
        ("def f():\n    return '" + "01" * 300 + "'", "code", "01"),
        ("print(" + "(" * 250, "code", "("),
    ],
)
def test_an_endless_repetition_is_no_answer(
    answer: str, answer_format: AnswerFormat, unit: str
) -> None:
    problem = answer_problem(answer, answer_format)
    assert problem is not None
    assert problem.startswith(f"an endless repetition of {unit!r} (")
    assert normalize_answer(answer, answer_format) is None
    if answer_format == "code":
        reply = f"ANSWER:\n```python\n{answer}\n```"
    else:
        reply = f"Here it is.\nANSWER: {answer}"
    assert extract_answer(reply, answer_format) is None
    assert extraction_problem(reply, answer_format) == f"ANSWER line: {problem}"


@pytest.mark.parametrize(
    ("answer", "answer_format", "expected"),
    [
        ("12345678901234567890", "integer", "12345678901234567890"),  # 20 digits
        ("-" + "9" * MAX_NUMBER_DIGITS, "integer", "-" + "9" * MAX_NUMBER_DIGITS),
        ("1" + "0" * 30, "number", "1" + "0" * 30),  # 10^30 written out
        ("265252859812191058636308480000000", "integer", "265252859812191058636308480000000"),
        ("1,000,000,000,000", "number", "1000000000000"),
        ("123456789/987654321", "number", "13717421/109739369"),
        ("0.333333333333", "number", "333333333333/1000000000000"),
        ("\\frac{\\sqrt{3}}{2}", "latex", "\\frac{\\sqrt{3}}{2}"),
        ("(-\\infty, -2] \\cup [3, \\infty)", "latex", "(-\\infty,-2]\\cup[3,\\infty)"),
        ("1" + "0" * 30, "latex", "1" + "0" * 30),
        ("\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}", "latex", None),
        ("(B)", "choice", "B"),
        ("| a | b |\n|" + "-" * 40 + "|" + "-" * 40 + "|", "text", None),
    ],
)
def test_legitimate_long_ish_answers_pass(
    answer: str, answer_format: AnswerFormat, expected: str | None
) -> None:
    assert answer_problem(answer, answer_format) is None
    normalised = normalize_answer(answer, answer_format)
    assert normalised is not None
    if expected is not None:
        assert normalised == expected


REAL_CODE = """\
# ------------------------------------------------------------------------------------------
# A grid walk, with the separators, indentation and literals real code has.
# ==========================================================================================
GRID = [
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
]
MASK = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF


def walk(n):
    if n:
        if n > 1:
            if n > 2:
                if n > 3:
                    if n > 4:
                        if n > 5:
                            if n > 6:
                                if n > 7:
                                    return 12345678901234567890123456789012345678901234567890
    print()
    print()
    print()
    return "#" * 79
"""


def test_real_code_with_repeats_passes() -> None:
    code = REAL_CODE + "    total += 1\n" * 120  # the same line, many times over
    assert answer_problem(code, "code") is None
    reply = f"ANSWER:\n```python\n{code}```"
    assert extract_answer(reply, "code") == code.rstrip("\n")


def test_choice_answers_are_one_label_or_none() -> None:
    assert answer_problem("the answer is (c)", "choice") is None
    assert answer_problem("none of them", "choice") == "no choice label (A-H)"
    assert extraction_problem("I cannot tell.", "choice") == "no choice label (A-H)"


def test_extraction_problems_say_what_was_missing() -> None:
    assert extraction_problem("", "number") == "an empty reply"
    assert extraction_problem("No digits here.", "number") == "no number"
    assert extraction_problem("ANSWER: forty-two", "number") == "ANSWER line: no number"
    assert extraction_problem("ANSWER: 3/0", "number") == "ANSWER line: a division by zero"
    assert extraction_problem("Paris is the capital", "text") == "no ANSWER line"
    assert extraction_problem("ANSWER: ...", "text") == "ANSWER line: an empty answer"
    assert extraction_problem("x = 1", "code") == "no ANSWER line and no code block"
    assert extraction_problem("It is x^2.", "latex") == "no ANSWER line and no \\boxed{}"
    assert extraction_problem("ANSWER: 42", "number") is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.sampled_from(FORMATS))
def test_an_answer_is_normalised_exactly_when_it_has_no_problem(
    answer: str, answer_format: AnswerFormat
) -> None:
    normalised = normalize_answer(answer, answer_format)
    problem = answer_problem(answer, answer_format)
    assert (normalised is None) == (problem is not None)
    assert (extract_answer(answer, answer_format) is None) == (
        extraction_problem(answer, answer_format) is not None
    )


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**MAX_NUMBER_DIGITS) + 1, max_value=10**MAX_NUMBER_DIGITS - 1))
def test_every_integer_within_the_digit_limit_reads_as_itself(number: int) -> None:
    for answer_format in ("number", "integer", "latex"):
        assert answer_problem(str(number), answer_format) is None
    assert extract_answer(f"So it is\nANSWER: {number}", "integer") == str(number)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=10**MAX_NUMBER_DIGITS, max_value=10**800), st.booleans())
def test_every_longer_number_is_a_runaway(number: int, decimal: bool) -> None:
    text = f"0.{number}" if decimal else str(number)
    digits = len(text.replace(".", ""))
    for answer_format in ("number", "integer", "latex"):
        assert answer_problem(text, answer_format) == f"a number of {digits} digits"
    assert extract_answer(f"ANSWER: {text}", "number") is None


@settings(max_examples=100, deadline=None)
@given(st.fractions(max_denominator=10**12).filter(lambda f: abs(f) < 10**12))
def test_fractions_read_reduced(value: Fraction) -> None:
    answer = f"{value.numerator}/{value.denominator}"
    assert normalize_answer(answer, "number") == (
        str(value.numerator) if value.denominator == 1 else answer
    )


_CODE_LINE = st.text(
    # no backticks: a line of them would be read as a Markdown fence, not as code
    alphabet=st.characters(codec="ascii", categories=("L", "N", "P", "S"), exclude_characters="`"),
    min_size=4,
    max_size=90,
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 12), _CODE_LINE, st.integers(1, 150)), min_size=1, max_size=8)
)
def test_code_of_repeated_lines_is_never_rejected(
    blocks: list[tuple[int, str, int]],
) -> None:
    # any line of four or more visible characters, indented and repeated up to 150 times
    code = "".join(f"{'    ' * depth}{line}\n" * times for depth, line, times in blocks)
    assert answer_problem(code, "code") is None
