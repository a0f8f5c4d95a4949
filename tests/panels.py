"""Shared helpers: scripted panels built from answers and judges."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nsed_graph import Agent, NSEDConfig
from nsed_graph.testing import ScriptedCall, ScriptedChatModel, review_reply, scripted_agent_model


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


def losing_a_proposer(judge: Callable[[str], float]) -> list[Agent]:
    """Two agents, "steady" answering 42 and "flaky" 41 in round 1 (so the round is reviewed);
    from round 2 on "flaky" fails to propose (issue 17: a two-agent table that loses a seat
    after a right round)."""
    proposals = {"n": 0}

    def flaky(call: ScriptedCall) -> object:
        if call.structured:
            return review_reply(call.prompt, call.schema, judge)
        proposals["n"] += 1
        return "ANSWER: 41" if proposals["n"] == 1 else RuntimeError("server went away")

    agents, _ = panel({"steady": "42"}, {"steady": judge})
    return [*agents, Agent(id="flaky", model=ScriptedChatModel(respond=flaky), family="x")]


def reviewed(**options: Any) -> NSEDConfig:
    """The default vote with its reviews run although they cannot move it, for the tests of the
    review machinery (prompts, masking, records, what the bench reads of reviews): by default a
    round whose reviews cannot count skips them (``skip_uncounted_reviews``)."""
    return NSEDConfig(skip_uncounted_reviews=False, **options)


def proposal_vote(**options: Any) -> NSEDConfig:
    """A config with the paper's vote over proposals, for the tests of the review-driven vote
    (the default counts answers and lets reviews move nothing, which those tests are not about)."""
    return NSEDConfig(vote_unit="proposals", **options)
