"""Stopping rules, Lambert W, the efficiency-fatigue optimum and the best round."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsed_graph.config import FatigueParams, NSEDConfig
from nsed_graph.protocol.stopping import (
    RoundOutcome,
    Spent,
    best_round,
    halt_reason,
    lambert_w0,
    optimal_rounds,
    stop_reason,
    unanimous,
    utility,
)
from nsed_graph.records import Winner


@given(st.floats(min_value=-1 / math.e, max_value=1e6))
def test_lambert_w_inverts_w_exp_w(x: float) -> None:
    w = lambert_w0(x)
    assert w * math.exp(w) == pytest.approx(x, rel=1e-9, abs=1e-12)
    assert w >= -1.0


def test_lambert_w_known_values() -> None:
    assert lambert_w0(0.0) == 0.0
    assert lambert_w0(math.e) == pytest.approx(1.0)
    assert lambert_w0(-1 / math.e) == -1.0
    with pytest.raises(ValueError, match="x >= -1/e"):
        lambert_w0(-1.0)


def test_t_opt_is_the_peak_of_u() -> None:
    params = FatigueParams(p_g=0.54, p_v=0.8, L=3.0, beta=0.004)
    t_opt = optimal_rounds(params)
    assert 1.0 < t_opt < 20.0
    assert utility(t_opt, params) >= utility(t_opt - 0.05, params)
    assert utility(t_opt, params) >= utility(t_opt + 0.05, params)


def outcome(t: int, answer: str | None, support: float = 0.5, conviction: float = 0.9):
    return RoundOutcome(round=t, answer=answer, support=support, conviction=conviction)


def test_rules_in_order() -> None:
    config = NSEDConfig(max_rounds=5, min_rounds=2, patience=2, convergence_threshold=0.6)
    assert stop_reason([], config.stop_rule(), Spent()) is None
    assert stop_reason([outcome(1, "4")], config.stop_rule(), Spent()) is None
    assert (
        stop_reason([outcome(1, "4"), outcome(2, "4")], config.stop_rule(), Spent()) == "converged"
    )
    weak = [outcome(1, "4", conviction=0.3), outcome(2, "4", conviction=0.3)]
    assert stop_reason(weak, config.stop_rule(), Spent()) is None
    changed = [outcome(1, "3"), outcome(2, "4")]
    assert stop_reason(changed, config.stop_rule(), Spent()) is None
    assert stop_reason([*changed, outcome(5, "5")], config.stop_rule(), Spent()) == "max_rounds"


def test_fatigue_and_budgets() -> None:
    params = FatigueParams(p_g=0.54, p_v=0.8, L=3.0, beta=0.004)
    t_stop = round(optimal_rounds(params))
    config = NSEDConfig(max_rounds=50, fatigue=params, convergence_threshold=1.0)
    history = [outcome(t, str(t)) for t in range(1, t_stop + 1)]
    assert stop_reason(history[:-1], config.stop_rule(), Spent()) is None
    assert stop_reason(history, config.stop_rule(), Spent()) == "fatigue_optimum"
    budget = NSEDConfig(
        max_total_tokens=100, max_total_cost=1.0, max_seconds=10, convergence_threshold=1.0
    )
    one = [outcome(1, "x")]
    assert stop_reason(one, budget.stop_rule(), Spent(tokens=100)) == "token_budget"
    assert stop_reason(one, budget.stop_rule(), Spent(cost=1.5)) == "cost_budget"
    assert stop_reason(one, budget.stop_rule(), Spent(seconds=11)) == "time_budget"


def test_best_round_is_not_necessarily_the_last() -> None:
    history = [outcome(1, "a", 0.2), outcome(2, "b", 0.8), outcome(3, "c", 0.4)]
    assert best_round(history) == history[1]
    assert best_round([outcome(1, None, 0.9)]) is None
    tied = [outcome(1, "a", 0.5), outcome(2, "b", 0.5)]
    assert best_round(tied) == tied[0]


def test_a_halted_run_is_degraded_with_an_answer_and_failed_without() -> None:
    best: Winner = {"agent": "a", "round": 1, "answer": "42", "text": "ANSWER: 42", "support": 0.5}
    assert halt_reason(best) == "degraded"
    assert halt_reason(None) == "failed"


def test_unanimity_needs_two_answers_all_equal() -> None:
    assert unanimous(["42", "42", "42"])
    assert not unanimous(["42"])
    assert not unanimous(["42", "41", "42"])
    assert not unanimous(["42", None])


def test_a_unanimous_round_stops_before_min_rounds_only_when_enabled() -> None:
    agreed = [RoundOutcome(round=1, answer="4", support=1.0, conviction=1.0, unanimous=True)]
    on = NSEDConfig(max_rounds=5, min_rounds=3).stop_rule()
    off = NSEDConfig(max_rounds=5, min_rounds=3, unanimous_exit=False).stop_rule()
    assert stop_reason(agreed, on, Spent()) == "unanimous"
    assert stop_reason(agreed, off, Spent()) is None
