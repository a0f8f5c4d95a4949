"""A telemetry file that cannot be read or written degrades to "no history", said in a
warning; it never stops a run nor loses its answer (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest
from panels import panel

from nsed_graph import NSEDConfig, create_nsed_graph
from nsed_graph.testing import constant_judge

TASK = "What is 6 x 7? Answer with a number."


def run(telemetry_file: Path) -> dict:
    agents, _ = panel({"a": "42", "b": "42"}, dict.fromkeys("ab", constant_judge({})))
    config = NSEDConfig(max_rounds=1, min_rounds=1, telemetry_file=str(telemetry_file))
    return create_nsed_graph(agents, config).invoke({"task": TASK})


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b'{"version": 99, "agents": {}}',
        b'["a list"]',
        "caf\xe9".encode("latin-1"),
        b'{"version": 1, "agents": {"a": 5}}',
        b'{"version": 1, "agents": {"a": {"calls": "x"}}}',
    ],
    ids=["corrupt", "foreign-version", "foreign-shape", "not-utf8", "bad-record", "bad-count"],
)
def test_an_unreadable_file_is_no_history(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "telemetry.json"
    path.write_bytes(content)
    with pytest.warns(RuntimeWarning, match="starts with no history"):
        out = run(path)
    assert out["answer"] == "42"
    assert out["telemetry"]["a"]["rounds"] == 1  # this run's own history only


def test_a_directory_or_an_unwritable_place_keeps_the_answer(tmp_path: Path) -> None:
    with pytest.warns(RuntimeWarning) as said:
        out = run(tmp_path)  # a directory: unreadable and unwritable
    assert out["answer"] == "42"
    messages = [str(w.message) for w in said]
    assert any("starts with no history" in m for m in messages)
    assert any("not kept" in m for m in messages)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    with pytest.warns(RuntimeWarning, match="cannot be written"):
        out = run(blocker / "telemetry.json")
    assert out["answer"] == "42"
