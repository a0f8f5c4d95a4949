"""benchmarks/paired.py: methods of runs on different ensembles, paired on their shared items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from panels import panel
from scripts import load_script

from nsed_graph import NSEDConfig
from nsed_graph.bench.datasets import BenchItem
from nsed_graph.bench.runner import ROWS_FILE, BenchSettings, read_rows, run_benchmark
from nsed_graph.testing import constant_judge

SETTINGS = BenchSettings(nsed=NSEDConfig(max_rounds=1, min_rounds=1))


def items(count: int) -> list[BenchItem]:
    return [BenchItem(f"q{i}", "toy", f"6 x 7? #{i}", "42", "number") for i in range(count)]


def run(out: Path, answers: dict[str, str], count: int) -> Path:
    agents, _ = panel(answers, dict.fromkeys(answers, constant_judge({"42": 90}, default=-90)))
    run_benchmark(agents, items(count), ["single", "nsed"], out, settings=SETTINGS)
    return out


def test_runs_on_two_ensembles_are_paired_on_the_items_they_share(tmp_path: Path) -> None:
    wrong = run(tmp_path / "wrong", {"a": "41", "b": "40"}, 3)  # nobody is ever right
    right = run(tmp_path / "right", {"x": "42", "y": "42"}, 2)  # everybody always is

    lines = load_script("paired").compare([str(wrong), f"{right}:nsed", f"{right}:single[x]"])

    assert lines[2] == "| `right:nsed` | 2 | 2 / 0 | 0 | 2 | 0.5 |"
    assert lines[3].startswith("| `right:single[x]` | 2 | 2 / 0 |")


def test_a_different_copy_of_an_item_or_a_missing_method_is_refused(tmp_path: Path) -> None:
    first = run(tmp_path / "first", {"a": "42", "b": "41"}, 1)
    second = run(tmp_path / "second", {"a": "42", "b": "41"}, 1)
    script = load_script("paired")
    with pytest.raises(SystemExit, match="no scored `moa` rows"):
        script.compare([str(first), f"{second}:moa"])

    rows = read_rows(second / ROWS_FILE)
    rows["nsed", "q0"]["item_key"] = "0" * 16  # scored against another gold answer
    (second / ROWS_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows.values()))
    with pytest.raises(SystemExit, match="item q0 differs from first:nsed's copy"):
        script.compare([str(first), str(second)])
