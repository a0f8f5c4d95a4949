"""Model calls with a timeout, bounded retries and a failure value instead of an exception.

The protocol logic of a seat (ask, read the answer, ask again for the answer alone if needed) is
written once as a generator that yields the requests it wants made and receives their outcomes.
Two small drivers perform them: one with ``ainvoke`` for ``graph.ainvoke``/``astream``, one with
``invoke`` for ``graph.invoke``/``stream``. Async clients are bound to the event loop that made
them, so the sync path must not borrow the async one; this split keeps both real and shares
everything else.

This module is public: the benchmark harness (and a user's own baseline) runs its calls through
it, so every request is timed, retried, recorded and charged exactly as a seat's are.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import random
import threading
import time
from collections.abc import Generator, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ValidationError

from nsed_graph.agents import Agent
from nsed_graph.config import NSEDConfig
from nsed_graph.records import CallRecord, FailureKind, FailureRecord, Phase
from nsed_graph.redaction import scrub
from nsed_graph.retry import retry_after_of, retry_delay, status_of

T = TypeVar("T")

Purpose = Literal["propose", "extract", "review", "compress"]


@dataclass(frozen=True)
class Request:
    """One model call a seat wants made. ``schema`` set means structured output."""

    purpose: Purpose
    messages: tuple[BaseMessage, ...]
    schema: type[BaseModel] | None = None
    delay_s: float = 0.0
    """Seconds to wait before sending: a retry's backoff (``retry.retry_delay``). The call's
    deadline and its recorded seconds start after the wait."""


@dataclass(frozen=True)
class Reply:
    """A usable reply: the text, and the parsed object for structured calls."""

    text: str
    parsed: dict[str, Any] | None


class CallFailure(Exception):
    """A call that stayed unusable after its retries; a value in the seat's result. ``status``
    and ``retry_after_s`` are what the provider said (an HTTP status, a ``Retry-After``), read
    by the retry rule."""

    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s


Outcome = tuple[Any, float]
"""What a driver got back for one attempt: (an AIMessage, a structured-output dict or the
exception raised, and the seconds the call took)."""

Job = Generator[list[Request], list[Outcome], T]


@dataclass
class CallLog:
    """Every attempt a seat made this round, for usage, telemetry and the audit trail."""

    agent: Agent
    round: int
    phase: Phase
    calls: list[CallRecord] = field(default_factory=list)
    failures: list[FailureRecord] = field(default_factory=list)

    def record(
        self, purpose: Purpose, attempt: int, seconds: float, result: Reply | CallFailure, raw: Any
    ) -> None:
        input_tokens, output_tokens = _usage(raw)
        self.calls.append(
            {
                "round": self.round,
                "agent": self.agent.id,
                "phase": self.phase,
                "purpose": purpose,
                "attempt": attempt,
                "ok": isinstance(result, Reply),
                "latency_s": round(seconds, 4),
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cost": self.agent.call_cost(input_tokens, output_tokens),
                "error": None if isinstance(result, Reply) else f"{result.kind}: {result.message}",
            }
        )

    def fail(self, failure: CallFailure) -> None:
        self.failures.append(
            {
                "round": self.round,
                "agent": self.agent.id,
                "phase": self.phase,
                "kind": failure.kind,
                "message": failure.message,
            }
        )


def call_all(
    requests: Sequence[Request], log: CallLog, config: NSEDConfig
) -> Job[list[Reply | CallFailure]]:
    """Make ``requests`` concurrently, retrying each unusable one up to ``config.max_retries``
    times where the failure says a retry can help, after its backoff (``retry.retry_delay``)."""
    results: list[Reply | CallFailure | None] = [None] * len(requests)
    attempts = [0] * len(requests)
    pending = list(enumerate(requests))
    while pending:
        outcomes = yield [request for _, request in pending]
        retry: list[tuple[int, Request]] = []
        for (index, request), (raw, seconds) in zip(pending, outcomes, strict=True):
            attempts[index] += 1
            result = interpret(raw, request)
            log.record(request.purpose, attempts[index], seconds, result, raw)
            delay = None
            if isinstance(result, CallFailure) and attempts[index] <= config.max_retries:
                delay = retry_delay(
                    result.kind,
                    attempts[index],
                    status=result.status,
                    retry_after_s=result.retry_after_s,
                    backoff_s=config.retry_backoff_s,
                    max_wait_s=config.retry_max_wait_s,
                    jitter=random.random(),
                )
            if delay is None:
                results[index] = result
            else:
                retry.append((index, replace(request, delay_s=delay)))
        pending = retry
    return [r for r in results if r is not None]


def call_one(request: Request, log: CallLog, config: NSEDConfig) -> Job[Reply | CallFailure]:
    """``call_all`` for a single request."""
    results = yield from call_all([request], log, config)
    return results[0]


def interpret(raw: Any, request: Request) -> Reply | CallFailure:
    """Classify one attempt's outcome; an empty or unparseable reply is a failure like an error."""
    if isinstance(raw, TimeoutError | asyncio.TimeoutError | FutureTimeout) or (
        isinstance(raw, BaseException) and "Timeout" in type(raw).__name__
    ):  # providers raise their own timeouts (openai.APITimeoutError, httpx.ReadTimeout)
        return CallFailure("timeout", "no reply within the timeout")
    if isinstance(raw, ValidationError | OutputParserException | json.JSONDecodeError):
        # a client that parses structured output itself (ChatOpenAI's json_schema) raises what
        # is a reply that does not read, e.g. a NaN weight: not a fault of the endpoint
        return CallFailure("unparseable", scrub(f"{type(raw).__name__}: {raw}")[:500])
    if isinstance(raw, BaseException):
        return CallFailure(
            "error",
            scrub(f"{type(raw).__name__}: {raw}")[:500],
            status=status_of(raw),
            retry_after_s=retry_after_of(raw),
        )
    if request.schema is not None:
        message = raw.get("raw") if isinstance(raw, dict) else None
        parsed = raw.get("parsed") if isinstance(raw, dict) else None
        text = _text(message)
        if parsed is None:
            problem = raw.get("parsing_error") if isinstance(raw, dict) else None
            kind: FailureKind = "empty" if not text.strip() else "unparseable"
            detail = scrub(str(problem or text[:200]))
            return CallFailure(kind, f"structured reply did not parse: {detail}")
        data = parsed.model_dump() if isinstance(parsed, BaseModel) else dict(parsed)
        return Reply(text=text or json.dumps(data), parsed=data)
    text = _text(raw)
    if not text.strip():
        return CallFailure("empty", "the model returned no text")
    return Reply(text=text, parsed=None)


def _text(message: Any) -> str:
    if not isinstance(message, BaseMessage):
        return ""
    content = message.content
    if isinstance(content, str):
        return content
    parts = [p if isinstance(p, str) else str(p.get("text", "")) for p in content]
    return "".join(parts)


def _usage(raw: Any) -> tuple[int, int]:
    message = raw.get("raw") if isinstance(raw, dict) else raw
    if isinstance(message, AIMessage) and message.usage_metadata:
        usage = message.usage_metadata
        return int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    return 0, 0


SAMPLE_SEED_STRIDE = 1000
"""Seeds of one agent's samples lie this far apart, so that sample k of one benchmark draw
(whose seed is the draw's) never repeats sample 1 of a later draw."""


def sampling_settings(agent: Agent, config: NSEDConfig) -> dict[str, Any]:
    """Temperature and seed of the agent's free-text calls.

    The configured ones (``NSEDConfig.temperature``, ``sampling_seed``) for an agent with one
    seat; an agent with several samples draws at its ``sample_temperature`` (where set), and
    sample k with seed ``base + SAMPLE_SEED_STRIDE * (k - 1)``, the base being
    ``sampling_seed``, else the model's own ``seed``: its seats are different, reproducible
    draws. Without either, no seed is sent and every draw is the server's own random one.
    These settings go with every free-text call of the seat: proposals, re-solves and
    reasoned reviews.
    """
    settings: dict[str, Any] = {}
    temperature, seed = config.temperature, config.sampling_seed
    if agent.samples > 1:
        if agent.sample_temperature is not None:
            temperature = agent.sample_temperature
        if seed is None:
            own = getattr(agent.model, "seed", None)
            seed = own if isinstance(own, int) else None
        if seed is not None:  # without any seed, every draw is the server's own random one
            seed += SAMPLE_SEED_STRIDE * (agent.sample_index - 1)
    if temperature is not None:
        settings["temperature"] = temperature
    if seed is not None:
        settings["seed"] = seed
    return settings


def runnable_for(agent: Agent, request: Request, config: NSEDConfig) -> Runnable[Any, Any]:
    """The runnable that performs ``request`` on ``agent``'s model.

    Structured calls go through ``with_structured_output`` with ``include_raw`` so token usage
    survives parsing; free-text calls carry the configured token cap and sampling settings.
    The run is named and tagged after the agent and the step, so a LangSmith trace reads as
    the protocol does (the names go to the trace only, never into a prompt).
    """
    runnable: Runnable[Any, Any]
    if request.schema is not None:
        runnable = agent.model.with_structured_output(
            request.schema, method=config.structured_output_method, include_raw=True
        )
    else:
        settings = {"max_tokens": config.proposal_max_tokens, **sampling_settings(agent, config)}
        runnable = agent.model.bind(**settings)
    return runnable.with_config(
        run_name=f"{request.purpose}:{agent.id}",
        tags=["nsed", f"nsed:{request.purpose}"],
        metadata={"nsed_agent": agent.id, "nsed_purpose": request.purpose},
    )


def _call_in_thread(runnable: Runnable[Any, Any], request: Request) -> Future[Outcome]:
    """Start one blocking call on a daemon thread, after the request's backoff, timed inside
    the thread.

    A daemon thread, not a pool: a call abandoned at its timeout must neither hold a worker
    that later calls queue behind nor keep the program from exiting. The call runs in a copy of
    this context, so tracing keeps its parent run.
    """
    future: Future[Outcome] = Future()
    context = contextvars.copy_context()
    messages = list(request.messages)

    def run() -> None:
        time.sleep(request.delay_s)
        started = time.monotonic()
        try:
            outcome: Any = context.run(runnable.invoke, messages)
        except Exception as error:
            outcome = error
        future.set_result((outcome, time.monotonic() - started))

    threading.Thread(target=run, name="nsed-call", daemon=True).start()
    return future


def drive(job: Job[T], agent: Agent, config: NSEDConfig) -> T:
    """Run a seat's job with blocking calls (``graph.invoke``), concurrently within the seat.

    A call still running at ``timeout_s`` is abandoned: its thread finishes on its own (give the
    model client its own timeout to stop it, e.g. ``ChatOpenAI(timeout=...)``).
    """
    try:
        requests = next(job)
        while True:
            started = time.monotonic()
            futures = [_call_in_thread(runnable_for(agent, r, config), r) for r in requests]
            outcomes: list[Outcome] = []
            for request, future in zip(requests, futures, strict=True):
                deadline = request.delay_s + config.timeout_s
                remaining = max(0.0, deadline - (time.monotonic() - started))
                try:
                    outcomes.append(future.result(timeout=remaining))
                except FutureTimeout as error:
                    outcomes.append((error, config.timeout_s))
            requests = job.send(outcomes)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def adrive(job: Job[T], agent: Agent, config: NSEDConfig) -> T:
    """Run a seat's job with async calls (``graph.ainvoke``), concurrently within the seat."""

    async def attempt(request: Request) -> Outcome:
        await asyncio.sleep(request.delay_s)
        started = time.monotonic()
        runnable = runnable_for(agent, request, config)
        try:
            outcome: Any = await asyncio.wait_for(
                runnable.ainvoke(list(request.messages)), config.timeout_s
            )
        except Exception as error:
            outcome = error
        return outcome, time.monotonic() - started

    try:
        requests = next(job)
        while True:
            requests = job.send(list(await asyncio.gather(*(attempt(r) for r in requests))))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


__all__ = [
    "SAMPLE_SEED_STRIDE",
    "CallFailure",
    "CallLog",
    "Job",
    "Outcome",
    "Purpose",
    "Reply",
    "Request",
    "adrive",
    "call_all",
    "call_one",
    "drive",
    "interpret",
    "runnable_for",
    "sampling_settings",
]
