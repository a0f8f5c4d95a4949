"""Items that ask not to be republished (GPQA) leave no question or model text in a run's files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from panels import panel

from nsed_graph import NSEDConfig
from nsed_graph.bench.datasets import BenchItem
from nsed_graph.bench.draws import DRAWS_FILE
from nsed_graph.bench.runner import ROWS_FILE, BenchSettings, report_run, run_benchmark
from nsed_graph.bench.withhold import LONGEST_KEPT, PRIVATE_DIR, WITHHELD, withhold_text
from nsed_graph.testing import constant_judge

SECRET = "Which of these 17 zebra isotopes is the quietest?"


def test_text_fields_and_long_strings_are_withheld_and_nothing_else() -> None:
    record = {
        "task": SECRET,
        "answer": "B",
        "rounds": [
            {
                "proposals": [{"agent": "a", "answer": "B", "text": "Because...", "ok": True}],
                "reviews": [{"scores": {"a": {"label": "A", "weight": 50.0, "critique": "ok"}}}],
                "brief": "answer: B",
                "supports": {"a": 0.7},
            }
        ],
        "note": "x" * (LONGEST_KEPT + 1),
        "votes": {"def solve():\n" + "    pass\n" * 40: 2, "B": 1},
        "check": "expected 42, read 41",
        "error": "structured reply did not parse: {'reasoning': 'zebra isotopes...",
        "empty": "",
    }
    kept = withhold_text(record)
    assert kept["task"] == kept["rounds"][0]["brief"] == kept["note"] == WITHHELD
    assert kept["rounds"][0]["proposals"][0] == {
        "agent": "a",
        "answer": "B",
        "text": WITHHELD,
        "ok": True,
    }
    assert kept["rounds"][0]["reviews"][0]["scores"]["a"] == {
        "label": "A",
        "weight": 50.0,
        "critique": WITHHELD,
    }
    assert kept["rounds"][0]["supports"] == {"a": 0.7}
    assert (kept["answer"], kept["empty"], kept["check"]) == ("B", "", WITHHELD)
    assert kept["error"] == f"structured reply did not parse: {WITHHELD}"  # the kind is kept
    assert kept["votes"] == {f"{WITHHELD} #0": 2, "B": 1}
    assert record["task"] == SECRET  # the input is left as it was


@pytest.mark.parametrize(
    ("check", "kept"),
    [
        ("expected 3:4, got 4:3", WITHHELD),  # a prefix here would quote the gold answer
        ("scoring failed: ValueError: cannot parse 'x'", f"scoring failed: {WITHHELD}"),
        ("tests failed: AssertionError: f(2) == 5", f"tests failed: {WITHHELD}"),
    ],
)
def test_a_check_keeps_only_a_known_kind(check: str, kept: str) -> None:
    assert withhold_text({"check": check})["check"] == kept


def test_a_withheld_item_is_scored_and_resumed_but_its_text_is_never_written(
    tmp_path: Path,
) -> None:
    agents, models = panel(
        {"a": "42", "b": "41", "c": "42"}, dict.fromkeys("abc", constant_judge({"42": 100}))
    )
    items = [
        BenchItem("open", "toy", "What is 6 x 7?", "42", "number"),
        BenchItem("closed", "toy", SECRET, "42", "number", publishable=False),
    ]
    methods = ["single", "moa", "self-consistency", "majority", "nsed"]
    settings = BenchSettings(nsed=NSEDConfig(max_rounds=2, min_rounds=2), samples=2)
    summary = run_benchmark(agents, items, methods, tmp_path, settings=settings)

    published = [path for path in tmp_path.iterdir() if path.name != PRIVATE_DIR]
    written = "".join(path.read_text() for path in published if path.suffix != ".png")
    assert SECRET not in written
    rows = [json.loads(line) for line in (tmp_path / ROWS_FILE).read_text().splitlines()]
    closed = [row for row in rows if row["item"] == "closed"]
    assert len(closed) == len(summary["methods"])
    assert all(row["correct"] is not None for row in closed)
    assert all("I worked it out" not in json.dumps(row) for row in closed)  # the models' words
    assert any("I worked it out" in json.dumps(row) for row in rows if row["item"] == "open")
    nsed = next(row for row in closed if row["method"] == "nsed")
    assert nsed["details"]["record"]["task"] == WITHHELD
    assert nsed["details"]["record"]["rounds"][0]["proposals"][0]["answer"] in ("41", "42")
    # Each item's distinct draws: 3 singles, MoA's aggregation, 2 x 3 majority; the withheld
    # item's in a folder that git leaves out of any repository the run is committed to.
    assert len((tmp_path / DRAWS_FILE).read_text().splitlines()) == 3 + 1 + 6
    private = tmp_path / PRIVATE_DIR
    assert (private / ".gitignore").read_text().splitlines()[-1] == "*"
    assert len((private / DRAWS_FILE).read_text().splitlines()) == 3 + 1 + 6
    assert "I worked it out" in (private / DRAWS_FILE).read_text()
    assert summary["methods"]["nsed"]["accuracy"]["rate"] == 1.0

    before = sum(len(model.calls) for model in models.values())
    assert report_run(tmp_path)["methods"] == summary["methods"]
    run_benchmark(agents, items, methods, tmp_path, settings=settings)  # resumes: nothing to do
    assert sum(len(model.calls) for model in models.values()) == before

    # A later process redoing the withheld item's baselines reuses its kept draws.
    redo = [row for row in rows if not (row["item"] == "closed" and row["kind"] != "nsed")]
    (tmp_path / ROWS_FILE).write_text("".join(json.dumps(row) + "\n" for row in redo))
    again = run_benchmark(agents, items, methods, tmp_path, settings=settings)
    assert sum(len(model.calls) for model in models.values()) == before
    accuracy = {label: method["accuracy"] for label, method in summary["methods"].items()}
    assert {label: method["accuracy"] for label, method in again["methods"].items()} == accuracy
