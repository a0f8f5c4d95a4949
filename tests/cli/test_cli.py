"""The `nsed` command on scripted ensembles: what a person sees, what it writes, how it fails."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import re
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest
from panels import losing_a_proposer, panel
from rich.console import Console
from rich.progress import Progress
from typer.testing import CliRunner

from nsed_graph import Agent, NSEDConfig, create_nsed_graph
from nsed_graph.cli import app
from nsed_graph.cli import ask as ask_module
from nsed_graph.cli import bench as bench_module
from nsed_graph.cli.common import OpenEnsemble
from nsed_graph.cli.display import summary
from nsed_graph.cli.progress import BenchProgress
from nsed_graph.testing import ScriptedChatModel, constant_judge

runner = CliRunner()


def _use(monkeypatch: pytest.MonkeyPatch, agents: list[Agent]) -> None:
    """``nsed ask`` and ``nsed bench`` get these agents instead of an ensemble."""

    @contextlib.contextmanager
    def scripted(path: Path | None, **_: object) -> Iterator[OpenEnsemble]:
        yield OpenEnsemble(agents, local=False)

    monkeypatch.setattr(ask_module, "open_ensemble", scripted)
    monkeypatch.setattr(bench_module, "open_ensemble", scripted)


@pytest.fixture
def scripted_ensemble(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the ensemble with a scripted three-member panel (no servers, no network)."""
    judge = constant_judge({"42": 90, "41": -60})
    agents, _ = panel(
        {"alpha": "42", "beta": "42", "gamma": "41"},
        dict.fromkeys(("alpha", "beta", "gamma"), judge),
    )

    _use(monkeypatch, agents)


def test_ask_shows_progress_answer_rounds_and_writes_json(
    scripted_ensemble: None, tmp_path: Path
) -> None:
    record = tmp_path / "run.json"
    result = runner.invoke(
        app, ["ask", "What is 6 x 7?", "--format", "number", "--rounds", "2", "--json", str(record)]
    )
    assert result.exit_code == 0, result.output
    assert "Answer: 42" in result.output
    assert "Rounds" in result.output
    assert "Stopped: converged" in result.output  # two of three agree: a round-1 majority
    assert "round 1: winner" in result.output  # the live view, fed by the graph's events
    saved = json.loads(record.read_text())
    assert saved["answer"] == "42"
    assert [r["round"] for r in saved["rounds"]] == [1]


def test_ask_keeps_the_answer_of_a_completed_round_when_a_later_one_halts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Issue 17: a right round 1, then one of two proposers fails: exit 0, a warning, the seat."""
    _use(monkeypatch, losing_a_proposer(constant_judge({"42": 90})))
    record = tmp_path / "run.json"
    result = runner.invoke(
        app, ["ask", "What is 6 x 7?", "-f", "number", "-r", "3", "--json", str(record)]
    )
    assert result.exit_code == 0, result.output
    assert "Answer: 42" in result.output
    assert "Stopped: degraded" in result.output
    assert "Warning: round 2: only 1 usable proposal" in result.output
    assert "halted" in result.output  # the table's row for the round that could not finish
    assert "round 2 propose flaky: error: " in result.output  # which seat, and why
    saved = json.loads(record.read_text())
    assert (saved["stop_reason"], saved["error"]) == ("degraded", None)


def test_ask_without_any_answer_fails_with_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    dead = [
        Agent(id=name, model=ScriptedChatModel(respond=lambda call: RuntimeError("down")))
        for name in ("one", "two")
    ]
    _use(monkeypatch, dead)
    result = runner.invoke(app, ["ask", "What is 6 x 7?", "-f", "number"])
    assert result.exit_code == 1
    assert "Stopped: failed" in result.output
    assert "Error: round 1: only 0 usable proposal(s)" in result.output


def test_a_round_halted_without_a_failed_seat_still_has_its_row() -> None:
    """Every weight zero after calibration halts a round with no failed seat; the table still
    shows it, and a seat's proposal cell shows only its proposal failures."""
    judge = constant_judge({"42": 90, "41": -60})
    agents, _ = panel({"a": "42", "b": "42", "c": "41"}, dict.fromkeys("abc", judge))
    config = NSEDConfig(max_rounds=1, min_rounds=1, answer_format="number")
    out = dict(create_nsed_graph(agents, config).invoke({"task": "6 x 7?"}))
    out |= {"stop_reason": "degraded", "round": 2, "warning": "round 2: every weight was zero"}
    out["failures"] = [
        {"round": 1, "agent": "a", "phase": "review", "kind": "timeout", "message": "slow"}
    ]
    console = Console(file=io.StringIO(), width=200)
    console.print(summary(out))
    shown = console.file.getvalue()
    rows = {line.split("│")[1].strip(): line for line in shown.splitlines() if "│" in line}
    assert "halted" in rows["2"]
    assert "✗" not in rows["1"]  # a's proposal was fine; its review failed
    assert "round 1 review a: timeout: slow" in shown


def test_ask_refuses_a_bad_format(scripted_ensemble: None) -> None:
    result = runner.invoke(app, ["ask", "q", "--format", "poem"])
    assert result.exit_code == 2
    assert "--format must be one of" in result.output


def test_ask_with_a_missing_ensemble_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, ["ask", "q", "--ensemble", str(missing)])
    assert result.exit_code == 2
    assert "nope.yaml" in result.output


def test_bench_runs_reports_and_resumes(scripted_ensemble: None, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = [
        "bench",
        "--dataset",
        "gsm8k",
        "--limit",
        "2",
        "--methods",
        "single,majority,nsed",
        "--max-rounds",
        "2",
        "--samples",
        "1",
        "--out",
        str(out),
        "--quiet",
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    rows = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * (3 + 1 + 1)  # three single agents, majority, nsed
    assert (out / "report.md").exists()
    assert json.loads((out / "summary.json").read_text())
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert len((out / "items.jsonl").read_text().splitlines()) == len(rows)  # nothing redone


def test_bench_prints_a_line_per_finished_pair_when_not_on_a_terminal(
    scripted_ensemble: None, tmp_path: Path
) -> None:
    args = ["bench", "--dataset", "gsm8k", "--limit", "2", "--methods", "single[alpha],nsed"]
    result = runner.invoke(app, [*args, "--max-rounds", "1", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    single = re.findall(
        r"^[12]/2 single\[alpha\] gsm8k-000[01]: wrong, answer '42', 1 calls, \d+ s$",
        result.output,
        flags=re.M,
    )
    assert len(single) == 2
    assert (
        len(
            re.findall(
                r"^[12]/2 nsed gsm8k-000[01]: wrong, answer '42', ", result.output, flags=re.M
            )
        )
        == 2
    )


def test_report_compares_a_partial_run_on_the_items_every_method_finished(
    scripted_ensemble: None, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    base = ["bench", "--dataset", "gsm8k", "--max-rounds", "1", "--out", str(out), "--quiet"]
    assert runner.invoke(app, [*base, "--limit", "2", "--methods", "nsed"]).exit_code == 0
    journal = out / "items.jsonl"
    # a later session added a method for the first item only: an unfinished run
    kept = journal.read_text()
    assert runner.invoke(app, [*base, "--limit", "1", "--methods", "nsed,single"]).exit_code == 0
    assert len(journal.read_text().splitlines()) == len(kept.splitlines()) + 3

    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["partial"]["compared_items"] == 1
    assert summary["partial"]["items_per_method"]["nsed"] == 2
    assert all(m["n"] == 1 for m in summary["methods"].values())
    assert "Partial run" in (out / "report.md").read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--category", "sycophancy"], "--category: the items of gsm8k have no categories"),
        (["--max-rounds", "2", "--min-rounds", "3"], "--min-rounds 3 is above --max-rounds 2"),
    ],
)
def test_bench_refuses_options_that_would_be_ignored_or_clamped(
    scripted_ensemble: None, tmp_path: Path, extra: list[str], message: str
) -> None:
    base = ["bench", "--dataset", "gsm8k", "--limit", "1", "--out", str(tmp_path / "run")]
    result = runner.invoke(app, [*base, *extra])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "run").exists()


def test_bench_reads_a_users_copy_of_a_named_set_and_its_checksum(
    scripted_ensemble: None, tmp_path: Path
) -> None:
    shipped = files("nsed_graph.bench").joinpath("data", "gsm8k_test.jsonl.gz").read_bytes()
    edited = tmp_path / "gsm8k_edited.jsonl"
    edited.write_bytes(gzip.decompress(shipped).replace(b"#### 18", b"#### 19", 1))
    actual = hashlib.sha256(edited.read_bytes()).hexdigest()
    base = ["bench", "--dataset", "gsm8k", "--data-path", str(edited), "--limit", "1"]
    base += ["--methods", "nsed", "--max-rounds", "1", "--out", str(tmp_path / "run"), "-q"]

    refused = runner.invoke(app, base)
    assert refused.exit_code == 2
    assert f"--sha256 {actual}" in " ".join(refused.output.split())

    result = runner.invoke(app, [*base, "--sha256", actual])
    assert result.exit_code == 0, result.output
    row = json.loads((tmp_path / "run" / "items.jsonl").read_text().splitlines()[0])
    assert row["check"] == "expected 19, read 42"


def test_report_of_a_directory_without_a_run_fails_clearly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "no benchmark run here" in result.output


def test_bench_progress_counts_the_rows_a_resumed_run_already_had() -> None:
    shown = BenchProgress(Progress(console=Console(file=io.StringIO())))
    earlier = [{"method": "nsed", "item": f"q{i}", "correct": i < 3} for i in range(4)]
    shown.planned("nsed", total=5, done=earlier)
    shown.finished({"method": "nsed", "item": "q4", "correct": True, "calls": 1})
    task = shown.progress.tasks[shown.tasks["nsed"]]
    assert task.completed == 5
    assert task.description == "nsed  acc 80%"  # 4 of 5, not 1 of 1
