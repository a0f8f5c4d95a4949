"""The per-round records of scripted runs are those kept in ``fixtures/round_records.json``:
reshaping the graph shell changes no vote, brief, failure, call or receipt."""

from __future__ import annotations

import json

import pytest
from record_scenarios import GOLDEN, SCENARIOS, differences, run_scenario


@pytest.mark.parametrize("use_async", [False, True], ids=["invoke", "ainvoke"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_scripted_run_keeps_its_recorded_rounds(name: str, use_async: bool) -> None:
    golden = json.loads(GOLDEN.read_text())[name]
    assert differences(run_scenario(name, use_async=use_async), golden) == []
