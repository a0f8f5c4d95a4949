"""Deterministic chat models for tests and notebooks.

``ScriptedChatModel`` answers from a script instead of a network: a list of replies taken in
order, or a function of the prompt. It supports ``with_structured_output`` (JSON schema, as an
OpenAI-compatible server would enforce it), async calls, simulated latency and injected
failures, and it records every prompt it receives, so a test can prove what a model was shown.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from nsed_graph.protocol.masking import FENCE_CLOSE, FENCE_OPEN


@dataclass(frozen=True)
class ScriptedCall:
    """One call the model received: its messages, the schema asked for, the settings sent with
    it (``temperature``, ``seed``, ``max_tokens``, ...), and the prompt text."""

    index: int
    messages: list[BaseMessage]
    schema: dict[str, Any] | None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        return "\n".join(str(m.content) for m in self.messages)

    @property
    def structured(self) -> bool:
        return self.schema is not None


Reply = str | dict[str, Any] | BaseException
Responder = Callable[[ScriptedCall], Reply]


class ScriptedChatModel(BaseChatModel):
    """A chat model that replies from a script.

    ``responses`` are used in order (an ``Exception`` among them is raised for that call);
    ``respond`` is called with each ``ScriptedCall`` instead. A dict reply is sent as JSON, as a
    structured-output server would. ``latency_s`` delays every call (asynchronously under
    ``ainvoke``), so a timeout can be provoked. ``calls`` records everything received.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    responses: list[Any] = Field(default_factory=list)
    respond: Responder | None = None
    latency_s: float = 0.0
    model_name: str = "scripted"
    _calls: list[ScriptedCall] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted-chat-model"

    @property
    def calls(self) -> list[ScriptedCall]:
        return list(self._calls)

    @property
    def prompts(self) -> list[str]:
        return [call.prompt for call in self._calls]

    def _next(self, messages: list[BaseMessage], settings: dict[str, Any]) -> Reply:
        with self._lock:
            call = ScriptedCall(
                index=len(self._calls),
                messages=list(messages),
                schema=settings.get("response_format"),
                settings={k: v for k, v in settings.items() if k != "response_format"},
            )
            self._calls.append(call)
            if self.respond is not None:
                return self.respond(call)
            if call.index >= len(self.responses):
                return RuntimeError(
                    f"ScriptedChatModel {self.model_name!r}: script exhausted after "
                    f"{len(self.responses)} replies"
                )
            reply: Reply = self.responses[call.index]
            return reply

    def _result(self, reply: Reply, messages: list[BaseMessage]) -> ChatResult:
        if isinstance(reply, BaseException):
            raise reply
        content = reply if isinstance(reply, str) else json.dumps(reply)
        prompt_tokens = sum(len(str(m.content)) for m in messages) // 4 + 1
        message = AIMessage(
            content=content,
            usage_metadata={
                "input_tokens": prompt_tokens,
                "output_tokens": len(content) // 4 + 1,
                "total_tokens": prompt_tokens + len(content) // 4 + 1,
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._next(messages, kwargs)
        if self.latency_s:
            time.sleep(self.latency_s)
        return self._result(reply, messages)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._next(messages, kwargs)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        return self._result(reply, messages)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Ask for JSON matching ``schema`` and parse it, as ``ChatOpenAI`` does (json_schema)."""
        json_schema = (
            schema.model_json_schema()
            if isinstance(schema, type) and issubclass(schema, BaseModel)
            else dict(schema)  # type: ignore[arg-type]
        )

        def parse(message: AIMessage) -> Any:
            try:
                data = json.loads(str(message.content))
                parsed: Any = (
                    schema.model_validate(data)
                    if isinstance(schema, type) and issubclass(schema, BaseModel)
                    else data
                )
                error: BaseException | None = None
            except Exception as problem:
                parsed, error = None, problem
            if include_raw:
                return {"raw": message, "parsed": parsed, "parsing_error": error}
            if error is not None:
                raise error
            return parsed

        bound = self.bind(response_format=json_schema)
        return bound | RunnableLambda(parse)


# ---- reading prompts: what a scripted responder needs to play its part -----------------------

_CANDIDATE = re.compile(
    re.escape(FENCE_OPEN.replace("{kind}", "CANDIDATE")).replace(r"\{label\}", r"(?P<label>[^>]+)")
    + r"\n(?P<body>.*?)\n"
    + re.escape(FENCE_CLOSE.replace("{kind}", "CANDIDATE")).replace(r"\{label\}", r"(?P=label)"),
    re.DOTALL,
)
_FINAL = re.compile(r"^Final answer: (.*)$", re.MULTILINE)


def candidates_in(prompt: str) -> dict[str, str]:
    """The candidates a reviewer was shown: label -> the answer each one gave."""
    found = {}
    for match in _CANDIDATE.finditer(prompt):
        final = _FINAL.search(match.group("body"))
        found[match.group("label")] = final.group(1).strip() if final else match.group("body")
    return found


def labels_in(schema: dict[str, Any] | None) -> list[str]:
    """The candidate labels a batch-review schema asks for, in order."""
    if not schema:
        return []
    return [name for name in schema.get("properties", {}) if name not in ("critique", "weight")]


def review_reply(
    prompt: str, schema: dict[str, Any] | None, judge: Callable[[str], float]
) -> dict[str, Any]:
    """A structured review whose weight for each candidate is ``judge(its answer)``."""
    shown = candidates_in(prompt)
    if labels_in(schema):
        return {
            label: {"critique": f"checked answer {shown[label]}", "weight": judge(shown[label])}
            for label in labels_in(schema)
        }
    (answer,) = shown.values()
    return {"critique": f"checked answer {answer}", "weight": judge(answer)}


WORKED = (
    "I worked it out step by step: I read the task again, did each calculation twice and "
    "checked the result against the question."
)
"""Reasoning long enough to count as a full re-solve in a later round (``min_resolve_chars``)."""


def scripted_agent_model(
    answer: str | Callable[[ScriptedCall], str],
    judge: Callable[[str], float],
    *,
    reasoning: str = WORKED,
    latency_s: float = 0.0,
    name: str = "scripted",
) -> ScriptedChatModel:
    """A scripted panel member: proposes ``answer`` and reviews each candidate with ``judge``."""

    def respond(call: ScriptedCall) -> Reply:
        if call.structured and "Candidates:" in call.prompt:
            return review_reply(call.prompt, call.schema, judge)
        if call.structured:
            return {"answer": answer if isinstance(answer, str) else str(answer(call))}
        text: str = answer if isinstance(answer, str) else answer(call)
        return f"{reasoning}\nANSWER: {text}"

    return ScriptedChatModel(respond=respond, latency_s=latency_s, model_name=name)


def constant_judge(weights: dict[str, float], default: float = 0.0) -> Callable[[str], float]:
    """A judge that gives each listed answer a fixed weight."""
    return lambda answer: weights.get(answer, default)


__all__: Sequence[str] = (
    "WORKED",
    "ScriptedCall",
    "ScriptedChatModel",
    "candidates_in",
    "constant_judge",
    "labels_in",
    "review_reply",
    "scripted_agent_model",
)
