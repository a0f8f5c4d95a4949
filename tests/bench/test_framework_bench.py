"""The framework benchmark (benchmarks/framework_bench.py) runs and reports what it measures:
a smoke run of its fault path and checkpoint parts, figures not asserted (they are targets)."""

from __future__ import annotations

import pytest
from scripts import load_script


def test_the_fault_path_and_checkpoint_parts_print_their_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bench = load_script("framework_bench")
    bench.checkpoint_bytes(2)
    bench.fault_path()
    printed = capsys.readouterr().out
    assert "round 2 added" in printed
    assert "a hung seat" in printed
    assert "requests seen" in printed
    requests, attempts = (
        int(word)
        for word in printed.split("a 429 storm:")[1].split("\n")[0].split()
        if word.isdigit()
    )
    assert requests == attempts  # every request the endpoint saw is an attempt in the record
