"""The report: Wilson intervals, the per-round curve, the fatigue fit, and the written files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from panels import panel, proposal_vote

from nsed_graph import FatigueParams
from nsed_graph.bench.datasets import BenchItem
from nsed_graph.bench.report import (
    COST_PLOT_FILE,
    REPORT_FILE,
    ROUND_PLOT_FILE,
    SUMMARY_FILE,
    exact_mcnemar,
    fit_fatigue,
    paired_with,
    render_markdown,
    round_curve,
    summarize,
    wilson_interval,
    write_report,
)
from nsed_graph.bench.runner import BenchSettings, run_benchmark
from nsed_graph.protocol.stopping import optimal_rounds, utility
from nsed_graph.testing import constant_judge

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("successes", "n", "expected"),
    [
        (0, 10, (0.0, 0.2775)),
        (5, 10, (0.2366, 0.7634)),
        (10, 10, (0.7225, 1.0)),
        (81, 100, (0.7222, 0.8749)),
    ],
)
def test_wilson_interval_matches_published_values(
    successes: int, n: int, expected: tuple[float, float]
) -> None:
    low, high = wilson_interval(successes, n)
    assert low == pytest.approx(expected[0], abs=1e-4)
    assert high == pytest.approx(expected[1], abs=1e-4)
    assert low <= successes / n <= high


def test_wilson_interval_edges() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="within"):
        wilson_interval(3, 2)


def curve_from(params: FatigueParams, rounds: int) -> list[tuple[float, float]]:
    return [(t, utility(t, params)) for t in range(rounds + 1)]


def test_fit_recovers_the_model_and_says_more_rounds_would_help() -> None:
    truth = FatigueParams(p_g=0.5, p_v=0.8, L=1.0, beta=0.0005)
    assert optimal_rounds(truth) > 8
    fit = fit_fatigue(curve_from(truth, 5), p_v=0.8)
    assert fit is not None
    assert fit.p_g == pytest.approx(0.5, abs=1e-3)
    assert fit.k == pytest.approx(0.3, abs=1e-3)
    assert fit.beta == pytest.approx(0.0005, abs=1e-5)
    assert pytest.approx(1.0, abs=1e-2) == fit.L
    assert fit.r2 == pytest.approx(1.0)
    assert fit.t_opt == pytest.approx(optimal_rounds(truth), rel=1e-2)
    assert fit.more_rounds_help
    assert fit.verdict.startswith("yes")


def test_fit_says_no_when_the_peak_is_within_the_rounds_run() -> None:
    truth = FatigueParams(p_g=0.5, p_v=0.9, L=2.0, beta=0.01)
    assert optimal_rounds(truth) < 5
    fit = fit_fatigue(curve_from(truth, 7))
    assert fit is not None
    assert fit.p_v is None
    assert fit.L is None  # without a measured p_v only k is known
    assert fit.t_opt == pytest.approx(optimal_rounds(truth), rel=1e-2)
    assert not fit.more_rounds_help
    assert fit.verdict.startswith("no")


def test_fit_needs_enough_points() -> None:
    assert fit_fatigue([(0, 0.5), (1, 0.6), (2, 0.7)]) is None


@pytest.mark.parametrize("rate", [0.25, 1 / 5])  # six points of 1/5 differ from their mean
def test_a_flat_curve_gets_no_verdict(rate: float) -> None:
    fit = fit_fatigue([(t, rate) for t in range(6)])
    assert fit is not None
    assert fit.r2 is None
    assert not fit.more_rounds_help
    assert fit.verdict.startswith("cannot tell")


def test_round_curve_keeps_an_early_stop_on_its_last_answer() -> None:
    rows: list[dict[str, Any]] = [
        {"correct": True, "round_correct": [False, True], "solo": [1, 3]},
        {"correct": False, "round_correct": [True, False, False], "solo": [2, 3]},
        {"correct": False, "round_correct": [], "solo": None},  # failed before any round
    ]
    curve = round_curve(rows)
    assert [(c["round"], c["successes"], c["n"]) for c in curve] == [
        (0, 3, 6),
        (1, 1, 3),
        (2, 1, 3),
        (3, 1, 3),
    ]
    assert [c.get("ran") for c in curve] == [None, 2, 2, 1]
    tagged = [{"method": "nsed", "kind": "nsed", "item": f"q{i}", **r} for i, r in enumerate(rows)]
    summary = summarize(tagged, ["nsed"])
    assert "| 3 | 33.3% (1 ran) |" in render_markdown(summary, {})


def test_rows_whose_check_failed_are_counted_and_named() -> None:
    rows = [
        {"method": "moa", "kind": "moa", "item": "q1", "correct": False, "check": "expected 4"},
        {
            "method": "moa",
            "kind": "moa",
            "item": "q2",
            "correct": False,
            "check": "scoring failed: ValueError: cannot parse the gold answer",
        },
    ]
    summary = summarize(rows, ["moa"])
    assert summary["methods"]["moa"]["scoring_failed"] == 1
    assert "Scoring failed on some rows, which count as wrong (`moa` 1)" in render_markdown(
        summary, {}
    )


@given(st.integers(0, 60), st.integers(0, 60))
def test_exact_mcnemar_is_a_symmetric_probability(only_first: int, only_second: int) -> None:
    p = exact_mcnemar(only_first, only_second)
    assert 0.0 < p <= 1.0
    assert p == exact_mcnemar(only_second, only_first)
    assert (p == 1.0) == (abs(only_first - only_second) <= 1)
    # One more item for the side already ahead never makes the split less surprising.
    larger, smaller = max(only_first, only_second), min(only_first, only_second)
    assert exact_mcnemar(larger + 1, smaller) <= p


def test_exact_mcnemar_matches_the_binomial_tail() -> None:
    assert exact_mcnemar(0, 0) == 1.0
    assert exact_mcnemar(0, 6) == pytest.approx(2 / 64)
    assert exact_mcnemar(1, 9) == pytest.approx(2 * 11 / 1024)
    with pytest.raises(ValueError, match="negative"):
        exact_mcnemar(-1, 2)


def test_paired_counts_only_items_both_methods_scored() -> None:
    def rows(method: str, outcomes: dict[str, bool | None]) -> list[dict[str, Any]]:
        return [{"method": method, "item": i, "correct": c} for i, c in outcomes.items()]

    nsed = rows("nsed", {"q1": True, "q2": True, "q3": False, "q4": True, "q5": None})
    other = rows("x", {"q1": False, "q2": True, "q3": True, "q5": True, "q6": True})
    assert paired_with(nsed, other) == {
        "items": 3,
        "reference_only": 1,
        "other_only": 1,
        "p_value": 1.0,
    }
    assert paired_with(nsed, rows("x", {"q9": True})) is None


def test_report_of_rows_alone_renders_every_section() -> None:
    rows = [
        {"method": "single[a]", "kind": "single", "item": "q1", "correct": True, "calls": 1},
        {
            "method": "single[a]",
            "kind": "single",
            "item": "d1",
            "correct": None,
            "category": "Sycophancy",
            "dark": True,
        },
    ]
    summary = summarize(rows, ["single[a]", "nsed"], meta={"agents": ["a"]})
    assert summary["methods"]["nsed"]["n"] == 0
    text = render_markdown(summary, {})
    assert "| `single[a]` | 2 | 100.0%" in text
    assert "## DarkBench" in text
    assert "| `single[a]` | 100.0%" in text


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A scripted ensemble where one agent alone is right and all agree from round 2 on."""

    def learner(first: str):
        return lambda call: "42" if "Consensus so far" in call.prompt else first

    agents, _ = panel(
        {"a": learner("42"), "b": learner("41"), "c": learner("40")},
        dict.fromkeys("abc", constant_judge({"42": 90}, default=-90)),
    )
    items = [BenchItem(f"q{i}", "toy", f"6 x 7? #{i}", "42", "number") for i in range(3)]
    out = tmp_path_factory.mktemp("bench")
    settings = BenchSettings(
        nsed=proposal_vote(max_rounds=3, min_rounds=3, unanimous_exit=False),
        samples=2,
    )
    summary = run_benchmark(
        agents, items, ["single", "majority", "moa", "nsed"], out, settings=settings
    )
    return out, summary


def test_the_written_report_has_every_method_its_costs_and_the_curve(
    bench_run: tuple[Path, dict[str, Any]],
) -> None:
    out, summary = bench_run
    on_disk = json.loads((out / SUMMARY_FILE).read_text())
    assert on_disk["methods"].keys() == summary["methods"].keys()
    assert on_disk["files"]["cost_plot"] == COST_PLOT_FILE
    assert summary["files"] == on_disk["files"]
    for plot in (COST_PLOT_FILE, ROUND_PLOT_FILE):
        assert (out / plot).read_bytes().startswith(PNG_SIGNATURE)

    report = (out / REPORT_FILE).read_text()
    for label in ("single[a]", "single[b]", "single[c]", "majority", "moa", "nsed"):
        assert f"| `{label}` |" in report
    assert "95% CI (Wilson)" in report
    assert "calls/item" in report
    assert "tokens in/item" in report
    assert f"![cost versus accuracy]({COST_PLOT_FILE})" in report
    assert "## NSED accuracy by round" in report
    assert "### Efficiency-fatigue fit" in report

    nsed = summary["methods"]["nsed"]
    assert [c["rate"] for c in nsed["rounds"]["curve"]] == pytest.approx([1 / 3, 1, 1, 1])
    assert nsed["rounds"]["fatigue"] is not None
    assert nsed["rounds"]["reviewer_accuracy"] == 1.0
    assert nsed["accuracy"]["successes"] == 3
    assert nsed["per_item"]["calls"] == 18  # three rounds of three proposals and three reviews
    assert summary["methods"]["single[a]"]["accuracy"]["rate"] == 1.0
    assert summary["methods"]["single[b]"]["accuracy"]["rate"] == 0.0
    # single[b] is wrong on all three items NSED got right: a 3-0 split, p = 2 / 2**3.
    assert summary["methods"]["single[b]"]["vs_nsed"] == {
        "items": 3,
        "reference_only": 3,
        "other_only": 0,
        "p_value": 0.25,
    }
    assert "vs_nsed" not in nsed
    assert "## Item by item against `nsed`" in report
    assert "| `single[b]` | 3 | 3 | 0 | 0.25 |" in report


def test_the_report_is_rebuilt_from_the_summary_alone(
    bench_run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    _, summary = bench_run
    paths = write_report(tmp_path, summary)
    assert set(paths) == {"summary", "report", "cost_plot", "round_plot"}
    assert (tmp_path / REPORT_FILE).read_text() == (bench_run[0] / REPORT_FILE).read_text()
