"""A run's stored answers are checked again without a model call, and only verdicts change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from panels import panel
from typer.testing import CliRunner

from nsed_graph import NSEDConfig
from nsed_graph.bench.datasets import load_dataset
from nsed_graph.bench.rescore import rescore_run
from nsed_graph.bench.runner import ROWS_FILE, BenchSettings, read_rows, run_benchmark
from nsed_graph.bench.withhold import WITHHELD
from nsed_graph.cli import app
from nsed_graph.testing import constant_judge

RIGHT = constant_judge({"42": 100}, default=-100)
SETTINGS = BenchSettings(nsed=NSEDConfig(max_rounds=2, min_rounds=2), samples=2)


def write_items(path: Path, *, publishable: bool = True) -> Path:
    rows = [
        {"id": f"q{i}", "question": f"What is 6 x 7? (#{i})", "answer": "42", "format": "number"}
        | ({} if publishable else {"publishable": False})
        for i in range(2)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def finished_run(tmp_path: Path, *, publishable: bool = True) -> tuple[Path, Path]:
    """A run where agent b is always wrong, then corrupted as a buggy checker would have
    written it: b's single answers and NSED's round-1 scores marked the other way."""
    data = write_items(tmp_path / "toy.jsonl", publishable=publishable)
    agents, _ = panel({"a": "42", "b": "41", "c": "42"}, dict.fromkeys("abc", RIGHT))
    out = tmp_path / "run"
    run_benchmark(agents, load_dataset(data), ["single", "nsed"], out, settings=SETTINGS)
    rows = read_rows(out / ROWS_FILE)
    rows["single[b]", "q0"]["correct"] = True
    rows["nsed", "q1"]["round_correct"] = [False, True]
    rows["nsed", "q1"]["solo"] = [0, 3]
    text = "".join(json.dumps(row) + "\n" for row in rows.values())
    (out / ROWS_FILE).write_text(text, encoding="utf-8")
    return out, data


def scored(out: Path) -> dict[tuple[str, str], Any]:
    keys = ("correct", "round_correct", "solo", "review_agreement")
    return {key: [row.get(k) for k in keys] for key, row in read_rows(out / ROWS_FILE).items()}


def test_rescoring_restores_the_checkers_verdicts_and_nothing_else(tmp_path: Path) -> None:
    out, data = finished_run(tmp_path)
    untouched_order = list(read_rows(out / ROWS_FILE).values())
    untouched = {
        key: {k: v for k, v in row.items() if k not in ("correct", "round_correct", "solo")}
        for key, row in read_rows(out / ROWS_FILE).items()
    }

    changed = rescore_run(out, [str(data)])

    assert sorted((c.method, c.item) for c in changed) == [("nsed", "q1"), ("single[b]", "q0")]
    single = next(c for c in changed if c.method == "single[b]")
    assert (single.before["correct"], single.after["correct"]) == (True, False)
    now = scored(out)
    assert now["single[b]", "q0"][0] is False
    assert now["nsed", "q1"][1:3] == [[True, True], [2, 3]]
    assert now["nsed", "q1"] == now["nsed", "q0"]
    assert {
        key: {k: v for k, v in row.items() if k not in ("correct", "round_correct", "solo")}
        for key, row in read_rows(out / ROWS_FILE).items()
    } == untouched
    assert rescore_run(out, [str(data)]) == []  # a second pass finds nothing to change
    assert [list(row) for row in read_rows(out / ROWS_FILE).values()] == [
        list(row) for row in untouched_order
    ]  # fields stay where they were, so a rescored file differs only in its verdicts


def test_a_user_file_must_be_named_again(tmp_path: Path) -> None:
    out, _ = finished_run(tmp_path)
    with pytest.raises(ValueError, match="--dataset PATH"):
        rescore_run(out)
    other = write_items(tmp_path / "other.jsonl")
    other.write_text(other.read_text().replace('"q1"', '"z1"'), encoding="utf-8")
    with pytest.raises(ValueError, match=r"1 of the run's items are not in .*other.jsonl: q1"):
        rescore_run(out, [str(other)])


def test_an_edited_copy_of_the_items_is_refused(tmp_path: Path) -> None:
    """Rows remember a digest of what they were scored against: rescoring against other gold
    answers would silently rewrite the run's verdicts."""
    out, data = finished_run(tmp_path)
    data.write_text(data.read_text().replace('"answer": "42"', '"answer": "41"'))
    before = (out / ROWS_FILE).read_text()
    with pytest.raises(ValueError, match=r"2 items of .*toy.jsonl differ from the copy the run"):
        rescore_run(out, [str(data)])
    assert (out / ROWS_FILE).read_text() == before


def test_withheld_items_stay_withheld_when_rescored(tmp_path: Path) -> None:
    out, data = finished_run(tmp_path, publishable=False)
    assert rescore_run(out, [str(data)])
    rows = read_rows(out / ROWS_FILE)
    assert rows["single[b]", "q0"]["correct"] is False
    assert all(row["check"] == WITHHELD for row in rows.values())
    assert "6 x 7" not in (out / ROWS_FILE).read_text()


def test_report_rescore_on_the_command_line(tmp_path: Path) -> None:
    out, data = finished_run(tmp_path)
    runner = CliRunner()
    refused = runner.invoke(app, ["report", str(out), "--dataset", str(data)])
    assert refused.exit_code == 2
    assert "only read with --rescore" in " ".join(refused.output.split())

    result = runner.invoke(app, ["report", str(out), "--rescore", "--dataset", str(data)])
    assert result.exit_code == 0, result.output
    assert "2 rows changed" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["methods"]["single[b]"]["accuracy"]["rate"] == 0.0
