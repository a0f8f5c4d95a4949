"""benchmarks/revote.py: round 1 of recorded NSED runs re-tallied under other vote rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from scripts import load_script
from toy_runs import journal, toy_run, user_file

from nsed_graph.bench.datasets import BenchItem
from nsed_graph.testing import constant_judge


def _recorded_run(out: Path) -> list[BenchItem]:
    """Two items where every reviewer can tell right from wrong."""
    return toy_run(out, dict.fromkeys("abc", constant_judge({"42": 100}, default=-100)), 2)


def test_a_lone_right_answer_is_found_by_the_weights_and_missed_by_plurality(
    tmp_path: Path,
) -> None:
    items = _recorded_run(tmp_path)
    rows = journal(tmp_path)

    outcomes = load_script("revote").revote(rows, {item.id: item for item in items})

    assert outcomes["any proposal right (ceiling)"] == [True, True]
    assert outcomes["a alone"] == [True, True]
    assert outcomes["b alone"] == [False, False]
    assert outcomes["plurality (a tie counts as wrong)"] == [False, False]
    assert outcomes["vote quadratic, calibration none"] == [True, True]
    assert outcomes["vote linear, calibration center, pooled"] == [True, True]
    # a lone right answer against two wrong ones: answers at review_weight 0 are a plurality of
    # three singletons, settled by strength (all 0.5 here) and then by the digest
    assert outcomes["vote over answers, review_weight 1"] == [True, True]  # reviews favour a
    assert len(outcomes) == 1 + 3 + 1 + 3 * 3 * 2 + 3


def test_a_run_on_a_user_file_is_re_tallied_from_the_file_it_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    items = _recorded_run(run)
    script = load_script("revote")
    with pytest.raises(SystemExit, match=r"items\.jsonl: not found; give the directory"):
        script.main([str(tmp_path)])
    with pytest.raises(SystemExit, match=r"'toy' is neither .* --dataset PATH"):
        script.main([str(run)])  # rows record the set's name, not where its file was

    toy = user_file(tmp_path / "toy.jsonl", items)
    script.main([str(run), "--dataset", str(toy)])
    printed = capsys.readouterr().out
    assert "re-tallied on 2 items of toy" in printed
    assert re.search(r"^vote quadratic, calibration none +2/2 = 100%$", printed, re.MULTILINE)

    user_file(toy, items[:1])
    with pytest.raises(SystemExit, match=r"1 of the run's items are not in .*toy\.jsonl: q1"):
        script.main([str(run), "--dataset", str(toy)])
