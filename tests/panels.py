"""Shared helpers: scripted panels built from answers and judges."""

from __future__ import annotations

from collections.abc import Callable

from nsed_graph import Agent
from nsed_graph.testing import ScriptedChatModel, scripted_agent_model


def panel(
    answers: dict[str, str | Callable],
    judges: dict[str, Callable[[str], float]],
    **model_options,
) -> tuple[list[Agent], dict[str, ScriptedChatModel]]:
    """Agents named by ``answers``' keys, each proposing its answer and reviewing with its judge."""
    models = {
        agent_id: scripted_agent_model(
            answer, judges[agent_id], name=f"model-of-{agent_id}", **model_options
        )
        for agent_id, answer in answers.items()
    }
    agents = [
        Agent(id=agent_id, model=model, family=f"family-{agent_id}")
        for agent_id, model in models.items()
    ]
    return agents, models
