"""The broker's configuration fields: defaults, ranges, and the cross-field checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from nsed_graph.config import NSEDConfig, RoleSpec


def test_defaults_leave_the_broker_off_and_benching_off() -> None:
    config = NSEDConfig()
    assert (config.table_size, config.roles, config.budget) == (None, None, None)
    assert config.bench_support_threshold is None
    assert config.value_prior_strength == 4.0
    assert config.broker_time_limit_s == 1.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"value_prior_strength": -1.0}, "value_prior_strength"),
        ({"win_rate_weight": 1.5}, "win_rate_weight"),
        ({"failure_penalty": -0.1}, "failure_penalty"),
        ({"latency_penalty_per_s": -0.1}, "latency_penalty_per_s"),
        ({"default_call_tokens": 0}, "default_call_tokens"),
        ({"default_call_latency_s": -1.0}, "default_call_latency_s"),
        ({"bench_support_threshold": 2.0}, "bench_support_threshold"),
        ({"bench_rounds": 0}, "bench_rounds"),
        ({"broker_time_limit_s": 0.0}, "broker_time_limit_s"),
        ({"table_size": 3, "min_families": 4}, "min_families .4. exceeds table_size .3."),
        (
            {
                "table_size": 3,
                "roles": {"proposer": RoleSpec(min_seats=3), "reviewer": RoleSpec(min_seats=1)},
            },
            "min_seats add up to 4, more than table_size",
        ),
        ({"roles": {"reviewer": RoleSpec(), "compressor": RoleSpec()}}, "two proposing seats"),
        ({"roles": {"proposer": RoleSpec()}}, "one reviewing seat"),
        (
            {"roles": {"proposer_reviewer": RoleSpec(max_seats=1), "reviewer": RoleSpec()}},
            "two proposing seats",
        ),
    ],
)
def test_invalid_broker_settings_name_the_problem(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NSEDConfig(**fields)


def test_roles_that_can_deliberate_are_accepted() -> None:
    NSEDConfig(roles={"proposer": RoleSpec(min_seats=2), "reviewer": RoleSpec(min_seats=1)})
    NSEDConfig(roles={"proposer_reviewer": RoleSpec(max_seats=2)})
    NSEDConfig(roles={"proposer_reviewer": RoleSpec(max_seats=1), "proposer": RoleSpec()})
