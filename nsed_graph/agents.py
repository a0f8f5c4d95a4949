"""Agents: the chat models at the table, with the metadata the broker and the audit trail need.

The model object stays here, outside the graph state: the state carries only ``Agent.id``,
so a run can be checkpointed, traced and replayed without pickling clients.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$")
SAMPLE_MARK = "@"
"""Joins an agent's id and a sample number in the id of a further seat (``qwen@2``): a user's id
cannot contain it, so a sample's id never collides with an agent's."""
MAX_SAMPLES = 16


def check_agent_id(value: str) -> str:
    """Agent ids travel in state, traces and file names: keep them short and plain. A bad id is
    described, not echoed: a key pasted into the id field must not reach an error message."""
    if not isinstance(value, str) or not _ID_PATTERN.fullmatch(value):
        raise ValueError(
            f"agent id ({_shape(value)}) must be 1-64 characters of letters, digits, '.', '_', "
            "':' or '-', starting with a letter or digit"
        )
    return value


def _shape(value: object) -> str:
    """What is wrong with a bad id, without the id: its length and its first bad character."""
    if not isinstance(value, str):
        return f"a {type(value).__name__}, not a string"
    if not value:
        return "empty"
    bad = next((i for i, c in enumerate(value) if not re.fullmatch(r"[A-Za-z0-9._:\-]", c)), None)
    if bad is None:
        return f"{len(value)} characters" if len(value) > 64 else "starts with a symbol"
    return f"{len(value)} characters, {value[bad]!r} at position {bad + 1}"


class Agent(BaseModel):
    """One configured chat model at the deliberation table.

    ``cost`` is the price of one call; ``cost_per_1k_input`` / ``cost_per_1k_output`` price the
    tokens instead (both may be given: they add up). ``prior`` is the expected quality in [0, 1],
    for example a benchmark score, from which the broker starts before it has telemetry.
    """

    model_config = ConfigDict(
        frozen=True,
        arbitrary_types_allowed=True,
        extra="forbid",
        allow_inf_nan=False,
        hide_input_in_errors=True,  # an error about a field never echoes what was typed in it
    )

    id: str = Field(description="Stable identifier, used in state, records and telemetry.")
    model: BaseChatModel = Field(exclude=True, repr=False)
    family: str = Field(default="unknown", min_length=1)
    cost: float = Field(default=0.0, ge=0.0, description="Cost of one call.")
    cost_per_1k_input: float = Field(default=0.0, ge=0.0)
    cost_per_1k_output: float = Field(default=0.0, ge=0.0)
    memory_gb: float = Field(default=0.0, ge=0.0)
    tags: frozenset[str] = Field(default_factory=frozenset)
    prior: float = Field(default=0.5, ge=0.0, le=1.0)
    pinned: bool = False
    excluded: bool = False
    samples: int = Field(
        default=1,
        ge=1,
        le=MAX_SAMPLES,
        description="Most seats this agent may hold in one round; each is a sample of its own.",
    )
    sample_temperature: float | None = Field(
        default=None,
        ge=0.0,
        le=2.0,
        description="Temperature of this agent's proposals when samples > 1; None keeps the "
        "configured one.",
    )
    sample_index: int = Field(
        default=1,
        ge=1,
        description="Which of the agent's samples this seat is (set by sample_seats; 1 is the "
        "agent itself).",
    )

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        return check_agent_id(value)

    @field_validator("tags", mode="before")
    @classmethod
    def _coerce_tags(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset({value})
        return value

    @model_validator(mode="after")
    def _check_flags(self) -> Agent:
        if self.pinned and self.excluded:
            raise ValueError(f"agent {self.id!r} is both pinned and excluded: choose one")
        if self.sample_index > self.samples:
            raise ValueError(
                f"agent {self.id!r}: sample_index ({self.sample_index}) exceeds samples "
                f"({self.samples}); leave sample_index at 1, the graph sets it for further seats"
            )
        return self

    def call_cost(self, input_tokens: int, output_tokens: int) -> float:
        """Cost of one call with the given token counts."""
        return (
            self.cost
            + self.cost_per_1k_input * input_tokens / 1000.0
            + self.cost_per_1k_output * output_tokens / 1000.0
        )


def sampled_from(seat_id: str) -> str:
    """The agent a seat draws from: ``qwen`` for ``qwen@2`` and for ``qwen`` itself."""
    return seat_id.split(SAMPLE_MARK, 1)[0]


def sample_seats(
    agents: Sequence[Agent], *, temperature: float | None, cap: int | None = None
) -> list[Agent]:
    """Every agent, followed by its further samples (``samples > 1``) as agents of their own.

    Seats are samples (docs/protocol.md, "1. Broker"): three seats of one model, each drawing
    with its own seed, gave a better plurality than one seat of each model in this project's
    runs. A further sample is the agent under the id ``<id>@<k>`` with ``sample_index = k``: the
    same model, family and prices, never pinned (the agent itself is), and valued lower by the
    broker (``NSEDConfig.sample_discount``), so a second sample must earn its seat. Its own seed
    is set per call (``calls.sampling_settings``). ``temperature`` is the configured
    temperature of proposals (``NSEDConfig.temperature``): samples drawn at temperature 0 would
    all be one answer, so that is refused, naming the fix. ``cap``
    (``NSEDConfig.max_samples``) bounds every agent's samples.
    """
    expanded: list[Agent] = []
    for given in agents:
        samples = given.samples if cap is None else min(given.samples, cap)
        agent = given if samples == given.samples else given.model_copy(update={"samples": samples})
        expanded.append(agent)
        if samples == 1:
            continue
        drawn = agent.sample_temperature if agent.sample_temperature is not None else temperature
        if drawn is None:
            drawn = getattr(agent.model, "temperature", None)
        if drawn == 0:
            raise ValueError(
                f"agents: {agent.id!r} has samples={samples} at temperature 0, which draws "
                f"one answer {samples} times; set sample_temperature (e.g. 0.7) on the "
                "agent, or samples=1"
            )
        expanded += [
            agent.model_copy(
                update={"id": f"{agent.id}{SAMPLE_MARK}{k}", "sample_index": k, "pinned": False}
            )
            for k in range(2, samples + 1)
        ]
    return expanded


def index_agents(agents: Iterable[Agent]) -> dict[str, Agent]:
    """Map ids to agents, refusing the mistakes a user can make in the list itself (any
    iterable of agents will do, a generator included)."""
    agents = list(agents)
    if len(agents) < 2:
        raise ValueError(
            f"agents: NSED needs at least two agents to deliberate, got {len(agents)}; "
            "add another Agent(...) to the list"
        )
    by_id: dict[str, Agent] = {}
    for agent in agents:
        if not isinstance(agent, Agent):
            raise TypeError(
                f"agents: expected Agent(...) objects, got {type(agent).__name__}; "
                "wrap each chat model as Agent(id=..., model=...)"
            )
        twin = next((i for i in by_id if i.casefold() == agent.id.casefold()), None)
        if twin is not None:
            clash = (
                f"duplicate agent id {twin!r}"
                if twin == agent.id
                else f"agent ids differing only by case: {twin!r} and {agent.id!r}"
            )
            raise ValueError(
                f"agents: {clash}; ids must be unique ignoring case (they name telemetry "
                "entries and files on case-insensitive file systems)"
            )
        by_id[agent.id] = agent
    if sum(1 for a in agents if not a.excluded) < 2:
        raise ValueError("agents: fewer than two agents are not excluded; NSED needs two")
    return by_id
