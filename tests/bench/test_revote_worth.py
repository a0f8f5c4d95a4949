"""benchmarks/revote.py: the vote over answers re-tallied with reviewer worth learned from known
answers (leave-one-out, and from earlier items only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from panels import panel
from scripts import load_script

from nsed_graph import NSEDConfig
from nsed_graph.bench.datasets import BenchItem
from nsed_graph.bench.runner import ROWS_FILE, BenchSettings, run_benchmark
from nsed_graph.testing import constant_judge


def _recorded_run(tmp_path: Path, n: int) -> list[BenchItem]:
    """A one-round NSED run where a alone is right and rejects b's and c's wrong answer, while
    b and c back their own answer and reject a's: only a's reviews carry signal."""
    agents, _ = panel(
        {"a": "42", "b": "41", "c": "41"},
        {
            "a": constant_judge({"42": 100}, default=-100),
            "b": constant_judge({"41": 100}, default=-100),
            "c": constant_judge({"41": 100}, default=-100),
        },
    )
    items = [BenchItem(f"q{i}", "toy", f"What is 6 x 7? (#{i})", "42", "number") for i in range(n)]
    settings = BenchSettings(nsed=NSEDConfig(max_rounds=1, min_rounds=1))
    run_benchmark(agents, items, ["nsed"], tmp_path, settings=settings)
    return items


def test_worth_learned_from_other_items_lets_the_one_discerning_reviewer_decide(
    tmp_path: Path,
) -> None:
    items = _recorded_run(tmp_path, 6)
    rows = [json.loads(line) for line in (tmp_path / ROWS_FILE).read_text().splitlines()]
    script = load_script("revote")
    by_id = {item.id: item for item in items}

    plain = script.revote(rows, by_id)
    worth = script.revote_worth(rows, by_id)

    assert plain["vote over answers, review_weight 1"] == [False] * 6  # b and c outvote a
    # b and c, at chance, are silent; a's rejection of 41 (its worth about 1.1 from the other
    # items) takes 41's two solutions below 42's one from lambda 1 on
    assert worth["vote over answers, review_weight 0.5, worth leave-one-out"] == [False] * 6
    assert worth["vote over answers, review_weight 1, worth leave-one-out"] == [True] * 6
    # with only earlier items, the first ones have too little history to trust a
    earlier = worth["vote over answers, review_weight 1, worth from earlier items"]
    assert earlier[0] is False
    assert earlier[-1] is True
    assert earlier == sorted(earlier)  # once a has earned enough worth, it keeps it
    assert len(worth) == 3 * 2

    assert script.reviewer_outcomes(rows, by_id) == {
        "a": (0, 0, 12, 12),  # rejected every wrong answer; never saw a right one
        "b": (0, 6, 0, 6),  # rejected the right answer, endorsed the wrong one
        "c": (0, 6, 0, 6),
    }


def test_the_printed_table_lists_each_reviewer_with_its_worth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    items = _recorded_run(run, 2)
    user_file = tmp_path / "toy.jsonl"
    fields = [
        {"id": i.id, "question": i.question, "answer": i.answer, "format": "number"} for i in items
    ]
    user_file.write_text("".join(json.dumps(row) + "\n" for row in fields))

    load_script("revote").main([str(run), "--dataset", str(user_file)])

    printed = capsys.readouterr().out
    assert "vote over answers, review_weight 2, worth leave-one-out" in printed
    lines = {line.split()[0]: line.split()[1:] for line in printed.splitlines() if line}
    # a: no right candidate seen, 4 of 4 wrong ones rejected. Printed balanced accuracy counts
    # the unseen side as chance: 75%. Its worth keeps that side at the prior 0.6 and shrinks the
    # other, (4 + 3) / (4 + 5) = 7/9: (0.6 + 7/9) / 2 = 0.689, ln(0.689 / 0.311) = 0.795
    assert lines["a"] == ["0/0", "4/4", "100%", "75%", "0.79"]
    assert lines["b"] == ["0/2", "0/2", "0%", "0%", "0.00"]
