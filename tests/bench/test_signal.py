"""The report says who carries signal: proposer accuracy, reviewer discrimination and position
bias per agent (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

from toy_runs import toy_run

from nsed_graph.bench.signal import row_signal, summarize_signal
from nsed_graph.testing import constant_judge


def test_the_report_lists_each_agents_signal(tmp_path: Path) -> None:
    judges = {
        "a": constant_judge({"42": 100}, default=-100),  # tells right from wrong
        "b": constant_judge({}, default=100),  # endorses everything
        "c": constant_judge({"41": 100}, default=-100),  # backs its own answer
    }
    toy_run(tmp_path, judges, 3)
    summary = json.loads((tmp_path / "summary.json").read_text())
    signal = summary["methods"]["nsed"]["signal"]
    assert signal["a"]["proposer_accuracy"] == 1.0
    assert signal["b"]["proposer_accuracy"] == 0.0
    assert signal["a"]["balanced_accuracy"] == 0.5 * (0.5 + 1.0)  # no right peer: that side 50%
    assert signal["b"]["balanced_accuracy"] == 0.5  # endorsing everything is chance
    assert signal["c"]["balanced_accuracy"] == 0.0  # rejects the right, endorses the wrong
    report = (tmp_path / "report.md").read_text()
    assert "## Who carries signal in `nsed`" in report
    assert "| b | 0/3 | 3/3 | 0/3 | 50% |" in report


def test_position_bias_is_counted_against_the_mean_of_the_other_candidates() -> None:
    def review(reviewer: str, weights: dict[str, float]) -> dict:
        labels = dict(zip(weights, "ABC", strict=False))
        return {
            "reviewer": reviewer,
            "ok": True,
            "scores": {
                a: {"label": labels[a], "weight": w, "critique": ""} for a, w in weights.items()
            },
        }

    record = {
        "rounds": [
            {
                "proposals": [],
                "raw_weights": {},
                "reviews": [
                    review("r", {"x": -10.0, "y": 50.0, "z": 30.0}),  # first below the others
                    review("r", {"y": 20.0, "z": 20.0}),  # a tie counts neither way
                    review("s", {"x": 90.0, "y": 10.0}),
                ],
            }
        ]
    }
    signal = row_signal(record, lambda answer: False)
    assert (signal["r"]["first_lower"], signal["r"]["first_higher"]) == (1, 0)
    assert (signal["s"]["first_lower"], signal["s"]["first_higher"]) == (0, 1)
    many = summarize_signal([{"signal": {"r": {**signal["r"], "first_lower": 20}}}])
    assert many["r"]["position_p"] < 0.001
