"""Answer extraction and normalisation per format: equal answers must compare equal."""

import pytest

from nsed_graph.protocol.answers import (
    answers_equal,
    boxed_contents,
    extract_answer,
    marked_answer,
    normalize_answer,
)


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
