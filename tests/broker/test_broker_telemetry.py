"""Telemetry: the update is pure and exact, and the file survives a round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nsed_graph.broker.telemetry import update_telemetry
from nsed_graph.persistence import load_telemetry, save_telemetry


def observation(agent: str = "a", **fields: Any) -> dict[str, Any]:
    base = {
        "agent": agent,
        "round": 1,
        "calls": 2,
        "failures": 0,
        "timeouts": 0,
        "latency_s": 3.0,
        "tokens": 400,
        "support": 0.5,
        "won": True,
    }
    return {**base, **fields}


def test_update_adds_counts_and_derives_means() -> None:
    first = update_telemetry({}, [observation(), observation("b", support=None, won=False)])
    second = update_telemetry(
        first, [observation(round=2, failures=1, timeouts=1, support=-0.5, won=False)]
    )
    a = second["a"]
    assert (a["rounds"], a["calls"], a["failures"], a["timeouts"], a["tokens"]) == (2, 4, 1, 1, 800)
    assert a["mean_support"] == pytest.approx(0.0)
    assert a["win_rate"] == pytest.approx(0.5)
    assert a["success_rate"] == pytest.approx(0.5)
    assert a["mean_latency_s"] == pytest.approx(1.5)
    assert a["mean_tokens"] == pytest.approx(200.0)
    assert a["last_round"] == 2
    b = second["b"]
    assert (b["scored_rounds"], b["mean_support"], b["win_rate"]) == (0, None, None)


def test_update_is_pure() -> None:
    before = update_telemetry({}, [observation()])
    snapshot = json.dumps(before, sort_keys=True)
    update_telemetry(before, [observation(round=2)])
    assert json.dumps(before, sort_keys=True) == snapshot


def test_streak_counts_consecutive_scored_rounds_below_threshold() -> None:
    telemetry: dict[str, dict[str, Any]] = {}
    for support, expected in ((-0.2, 1), (None, 1), (-0.3, 2), (0.4, 0), (-0.1, 1)):
        telemetry = update_telemetry(telemetry, [observation(support=support)], bench_threshold=0.0)
        assert telemetry["a"]["below_threshold_streak"] == expected
    unthresholded = update_telemetry({}, [observation(support=-1.0)])
    assert unthresholded["a"]["below_threshold_streak"] == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"agent": ""}, "'agent' id"),
        ({"calls": -1}, "'calls'"),
        ({"tokens": 1.5}, "'tokens'"),
        ({"failures": 2, "timeouts": 1}, "exceed calls"),
        ({"latency_s": float("nan")}, "'latency_s'"),
        ({"support": 1.5}, "'support'"),
        ({"reliability": -0.1}, "'reliability'"),
    ],
)
def test_malformed_observations_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        update_telemetry({}, [observation(**fields)])


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    telemetry = update_telemetry({}, [observation(), observation("b", reliability=0.75)])
    path = tmp_path / "runs" / "telemetry.json"
    save_telemetry(path, telemetry)
    assert load_telemetry(path) == telemetry
    assert json.loads(path.read_text())["version"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["telemetry.json"]


def test_loading_a_missing_file_is_an_empty_history(tmp_path: Path) -> None:
    assert load_telemetry(tmp_path / "absent.json") == {}


def test_loading_another_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.json"
    path.write_text(json.dumps({"version": 99, "agents": {}}))
    with pytest.raises(ValueError, match="version 1"):
        load_telemetry(path)


def test_a_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "telemetry.json"
    save_telemetry(path, update_telemetry({}, [observation()]))
    before = path.read_text()

    def crash(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("nsed_graph.files.os.replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save_telemetry(path, update_telemetry({}, [observation("b")]))
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["telemetry.json"]
