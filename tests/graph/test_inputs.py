"""Bad input gets a clear error that names the field and the fix."""

import math

import pytest
from pydantic import ValidationError

from nsed_graph import Agent, FatigueParams, NSEDConfig, create_nsed_graph
from nsed_graph.testing import ScriptedChatModel, constant_judge, scripted_agent_model


def model() -> ScriptedChatModel:
    return ScriptedChatModel(responses=[])


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValidationError, match="max_rounds"):
        NSEDConfig(max_rounds=0)
    with pytest.raises(ValidationError, match="gamma"):
        NSEDConfig(gamma=1.5)
    with pytest.raises(ValidationError, match="min_rounds"):
        NSEDConfig(max_rounds=2, min_rounds=3)
    with pytest.raises(ValidationError, match="aggregation"):
        NSEDConfig(aggregation="plurality")
    with pytest.raises(ValidationError, match="p_v must exceed p_g"):
        FatigueParams(p_g=0.8, p_v=0.5, L=1, beta=0.01)
    with pytest.raises(ValidationError, match="max_round"):
        NSEDConfig(max_round=3)  # a typo is not silently ignored
    with pytest.raises(ValidationError, match="frozen"):
        NSEDConfig().gamma = 0.1  # type: ignore[misc]


def test_agent_errors() -> None:
    with pytest.raises(ValidationError, match="agent id"):
        Agent(id="has space", model=model())
    with pytest.raises(ValidationError, match="pinned and excluded"):
        Agent(id="a", model=model(), pinned=True, excluded=True)
    with pytest.raises(ValidationError, match="prior"):
        Agent(id="a", model=model(), prior=2)
    with pytest.raises(ValueError, match="at least two agents"):
        create_nsed_graph([Agent(id="a", model=model())])
    with pytest.raises(ValueError, match="duplicate agent id 'a'"):
        create_nsed_graph([Agent(id="a", model=model()), Agent(id="a", model=model())])
    with pytest.raises(TypeError, match="Agent"):
        create_nsed_graph([model(), model()])  # type: ignore[list-item]


def test_missing_task_is_a_clear_error() -> None:
    graph = create_nsed_graph([Agent(id="a", model=model()), Agent(id="b", model=model())])
    with pytest.raises(ValueError, match="'task'"):
        graph.invoke({})
    with pytest.raises(ValueError, match="'task'"):
        graph.invoke({"task": "   "})


def test_agent_metadata_is_plain_data_without_the_model() -> None:
    agent = Agent(id="a", model=model(), tags={"math"}, cost=1.0, cost_per_1k_input=2.0)
    assert "model" not in agent.model_dump(mode="json")
    assert agent.call_cost(1000, 0) == pytest.approx(3.0)


@pytest.mark.parametrize(
    "field", ["timeout_s", "gamma", "max_seconds", "latency_penalty_per_s", "retry_backoff_s"]
)
@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_infinite_and_nan_settings_are_refused_by_name(field: str, value: float) -> None:
    """Issue 16: timeout_s=inf crashed the run with an OverflowError, infinite broker settings
    with NaN errors deep inside."""
    with pytest.raises(ValidationError, match=field):
        NSEDConfig(**{field: value})
    with pytest.raises(ValidationError, match="L"):
        FatigueParams(p_g=0.2, p_v=0.6, L=math.inf, beta=0.01)
    with pytest.raises(ValidationError, match="cost"):
        Agent(id="a", model=model(), cost=value)


def test_a_timeout_too_large_for_a_clock_is_refused() -> None:
    with pytest.raises(ValidationError, match="timeout_s"):
        NSEDConfig(timeout_s=1e10)


def test_ids_that_differ_only_by_case_or_end_in_a_newline_are_refused() -> None:
    with pytest.raises(ValueError, match="differing only by case: 'A' and 'a'"):
        create_nsed_graph([Agent(id="A", model=model()), Agent(id="a", model=model())])
    with pytest.raises(ValidationError, match="position 2"):
        Agent(id="x\n", model=model())
    with pytest.raises(ValidationError) as caught:
        Agent(id="sk-secret 123", model=model())
    assert "secret" not in str(caught.value)  # a bad id is described, never echoed


def test_agents_may_come_from_a_generator() -> None:
    agents = (Agent(id=i, model=scripted_agent_model("42", constant_judge({}))) for i in "ab")
    out = create_nsed_graph(agents, NSEDConfig(max_rounds=1, min_rounds=1)).invoke({"task": "?"})
    assert out["answer"] == "42"


def test_a_task_longer_than_the_cap_is_refused_before_any_call() -> None:
    models = [scripted_agent_model("42", constant_judge({})) for _ in range(2)]
    agents = [Agent(id=f"a{i}", model=m) for i, m in enumerate(models)]
    graph = create_nsed_graph(agents, NSEDConfig(max_task_chars=1000))
    with pytest.raises(ValueError, match="max_task_chars"):
        graph.invoke({"task": "x" * 1001})
    assert all(m.calls == [] for m in models)
