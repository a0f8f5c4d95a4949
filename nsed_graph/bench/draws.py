"""Identical questions within one benchmark run are asked once and the answer shared.

``single``, MoA's proposer layer, ``self-consistency`` and ``majority`` all ask agents through
``apropose_once``: MoA's proposer ``A`` asks exactly what ``single[A]`` asks, and
self-consistency's draw ``i`` of the best agent is exactly majority's repetition ``i`` for that
agent (same prompt, temperature and seed). Asking again would spend the run's slowest resource,
model time, on a request already answered, and for unseeded requests would pair each method
with a different sample of the same distribution, adding noise to the comparison.

Each method is still charged every call behind the draws it used, so calls and tokens per item
read as if it had run alone; only wall time shows the saving. Answered draws are appended to a
JSONL file in the run directory, so a resumed run shares with the part that ran before it.
Failed draws are never kept: the next method to ask tries again.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from nsed_graph import Agent, NSEDConfig, apropose_once, propose_messages
from nsed_graph.calls import CallLog
from nsed_graph.records import CallRecord, Proposal

Answered = tuple[Proposal, CallLog]
Propose = Callable[[Agent, str, NSEDConfig], Awaitable[Answered]]
DRAWS_FILE = "draws.jsonl"


def draw_key(agent: Agent, task: str, config: NSEDConfig) -> str:
    """What makes two requests the same: the agent, the messages it is sent (so a later version
    of the prompts never reuses an old answer) and every setting of the call."""
    messages = propose_messages(task, config.answer_format)
    text = json.dumps(
        {
            "agent": agent.id,
            "messages": [[message.type, message.content] for message in messages],
            "config": config.model_dump(mode="json"),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fresh(agent: Agent, proposal: Proposal, calls: list[CallRecord]) -> Answered:
    """A copy of a stored answer that its asker may change without touching anyone else's."""
    return copy.deepcopy(proposal), CallLog(agent, 1, "propose", calls=copy.deepcopy(calls))


class SharedDraws:
    """A ``Propose`` that answers a repeated request from the first answer to it.

    Concurrent askers of one request wait for the same call rather than racing to make two; if
    that call fails or is cancelled, a waiter asks for itself. ``asked`` and ``shared`` count
    this object's requests and those answered without a call of their own.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._answered: dict[str, tuple[Proposal, list[CallRecord]]] = {}
        self._in_flight: dict[str, asyncio.Future[Answered]] = {}
        self.asked = 0
        self.shared = 0
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            try:
                entry: dict[str, Any] = json.loads(line)
                self._answered[entry["key"]] = (entry["proposal"], entry["calls"])
            except (ValueError, KeyError, TypeError):
                # A line cut short by a killed run: that draw is simply asked again.
                continue
        if text and not text.endswith("\n"):
            with path.open("a", encoding="utf-8") as journal:
                journal.write("\n")  # the next entry starts whole, not glued to the cut one

    def _keep(self, key: str, proposal: Proposal, calls: list[CallRecord]) -> None:
        self._answered[key] = copy.deepcopy((proposal, calls))
        if self._path is None:
            return
        entry = {"key": key, "proposal": proposal, "calls": calls}
        with self._path.open("a", encoding="utf-8") as journal:
            journal.write(json.dumps(entry) + "\n")

    async def __call__(self, agent: Agent, task: str, config: NSEDConfig) -> Answered:
        self.asked += 1
        key = draw_key(agent, task, config)
        while key in self._in_flight and key not in self._answered:
            pending = self._in_flight[key]
            try:
                proposal, log = await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this waiter itself was cancelled
                continue  # the asker making the call was cancelled: ask again
            if proposal["ok"]:
                self.shared += 1
                return _fresh(agent, proposal, log.calls)
            break  # a failed draw is never shared: ask for ourselves
        if key in self._answered:
            self.shared += 1
            return _fresh(agent, *self._answered[key])
        return await self._ask(key, agent, task, config)

    async def _ask(self, key: str, agent: Agent, task: str, config: NSEDConfig) -> Answered:
        future: asyncio.Future[Answered] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            proposal, log = await apropose_once(agent, task, config)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as error:
            future.set_exception(error)
            future.exception()  # marked as retrieved: nobody waiting is not an error
            raise
        finally:
            if self._in_flight.get(key) is future:
                del self._in_flight[key]
        if proposal["ok"]:
            self._keep(key, proposal, log.calls)
        future.set_result(_fresh(agent, proposal, log.calls))
        return proposal, log
