"""Bad input gets a clear error that names the field and the fix."""

import pytest
from pydantic import ValidationError

from nsed_graph import Agent, FatigueParams, NSEDConfig, create_nsed_graph
from nsed_graph.testing import ScriptedChatModel


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
