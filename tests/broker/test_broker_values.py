"""The value formula of ``nsed_graph.broker.values``, term by term."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsed_graph.broker.telemetry import update_telemetry
from nsed_graph.broker.values import (
    ValueKnobs,
    failure_rate,
    quality,
    reliability,
    seat_value,
)
from nsed_graph.config import NSEDConfig
from nsed_graph.protocol.estimates import shrink

KNOBS = ValueKnobs(
    prior_strength=4.0, win_rate_weight=0.25, failure_penalty=0.5, latency_penalty_per_s=0.001
)


def history(rounds: int, **observation: object) -> dict[str, dict[str, object]]:
    base = {"agent": "a", "calls": 1, "failures": 0, "timeouts": 0, "latency_s": 0.0}
    return update_telemetry({}, [{**base, **observation, "round": t} for t in range(rounds)])


def test_a_new_agent_is_worth_its_prior_in_every_role() -> None:
    for role in ("proposer_reviewer", "proposer", "reviewer", "compressor"):
        assert seat_value(0.7, None, role, 0.0, KNOBS) == pytest.approx(0.7)


def test_shrinkage_weighs_the_prior_as_strength_observations() -> None:
    assert shrink(0.5, 4.0, 1.0, 4) == pytest.approx(0.75)
    assert shrink(0.5, 0.0, 0.9, 3) == pytest.approx(0.9)
    assert shrink(0.5, 0.0, 0.9, 0) == pytest.approx(0.5)


def test_quality_blends_mapped_support_and_win_rate() -> None:
    record = history(4, support=1.0, won=True)["a"]
    # obs = 0.75 * (1 + 1) / 2 + 0.25 * 1 = 1; q = (4 * 0.5 + 4 * 1) / 8
    assert quality(0.5, record, KNOBS) == pytest.approx(0.75)
    record = history(4, support=0.0, won=False)["a"]
    # obs = 0.75 * 0.5 = 0.375; q = (2 + 1.5) / 8
    assert quality(0.5, record, KNOBS) == pytest.approx(0.4375)


def test_unscored_rounds_leave_quality_at_the_prior() -> None:
    record = history(5, support=None, won=True)["a"]
    assert quality(0.6, record, KNOBS) == pytest.approx(0.6)


def test_reliability_shrinks_toward_quality() -> None:
    record = history(4, support=0.0, reliability=1.0)["a"]
    q = quality(0.5, record, KNOBS)
    assert reliability(q, record, KNOBS) == pytest.approx((4 * q + 4 * 1.0) / 8)
    assert seat_value(0.5, record, "reviewer", 0.0, KNOBS) == pytest.approx((4 * q + 4) / 8)
    both = (q + (4 * q + 4) / 8) / 2
    assert seat_value(0.5, record, "proposer_reviewer", 0.0, KNOBS) == pytest.approx(both)


def test_failures_and_latency_are_penalised() -> None:
    record = history(2, calls=2, failures=1, support=None)["a"]
    # fail = 2 failed / (4 calls + 4 pseudo-calls) = 0.25
    assert failure_rate(record, KNOBS) == pytest.approx(0.25)
    expected = 0.5 - 0.5 * 0.25 - 0.001 * 20.0
    assert seat_value(0.5, record, "proposer", 20.0, KNOBS) == pytest.approx(expected)


def test_knobs_come_from_the_configuration() -> None:
    config = NSEDConfig(value_prior_strength=2.0, win_rate_weight=0.5, failure_penalty=1.0)
    knobs = ValueKnobs.from_config(config)
    assert (knobs.prior_strength, knobs.win_rate_weight, knobs.failure_penalty) == (2.0, 0.5, 1.0)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(
    prior=st.floats(0, 1),
    low=st.floats(-1, 1),
    high=st.floats(-1, 1),
    rounds=st.integers(1, 20),
)
def test_more_support_never_lowers_quality_and_quality_stays_in_unit_range(
    prior: float, low: float, high: float, rounds: int
) -> None:
    low, high = sorted((low, high))
    worse = quality(prior, history(rounds, support=low)["a"], KNOBS)
    better = quality(prior, history(rounds, support=high)["a"], KNOBS)
    assert 0.0 <= worse <= better + 1e-12 <= 1.0 + 1e-12
