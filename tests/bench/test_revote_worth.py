"""benchmarks/revote.py: the vote over answers re-tallied with reviewer worth learned from known
answers (leave-one-out, and from earlier items only)."""

from __future__ import annotations

from pathlib import Path

import pytest
from scripts import load_script
from toy_runs import journal, toy_run, user_file

from nsed_graph.bench.datasets import BenchItem
from nsed_graph.testing import constant_judge


def _recorded_run(out: Path, n: int) -> list[BenchItem]:
    """Only a's reviews carry signal: it rejects the wrong 41, while b and c back their own
    answer and reject a's."""
    judges = {
        "a": constant_judge({"42": 100}, default=-100),
        "b": constant_judge({"41": 100}, default=-100),
        "c": constant_judge({"41": 100}, default=-100),
    }
    return toy_run(out, judges, n)


def test_worth_learned_from_other_items_lets_the_one_discerning_reviewer_decide(
    tmp_path: Path,
) -> None:
    items = _recorded_run(tmp_path, 6)
    rows = journal(tmp_path)
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
    load_script("revote").main(
        [str(run), "--dataset", str(user_file(tmp_path / "toy.jsonl", items))]
    )

    printed = capsys.readouterr().out
    assert "vote over answers, review_weight 2, worth leave-one-out" in printed
    lines = {line.split()[0]: line.split()[1:] for line in printed.splitlines() if line}
    # a: no right candidate seen, 4 of 4 wrong ones rejected. Printed balanced accuracy counts
    # the unseen side as chance: 75%. Its worth keeps that side at the prior 0.6 and shrinks the
    # other, (4 + 3) / (4 + 5) = 7/9: (0.6 + 7/9) / 2 = 0.689, ln(0.689 / 0.311) = 0.795
    assert lines["a"] == ["0/0", "4/4", "100%", "75%", "0.79"]
    assert lines["b"] == ["0/2", "0/2", "0%", "0%", "0.00"]
