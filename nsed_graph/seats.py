"""What one seat does in a round: a proposer writes and answers, a reviewer scores its peers.

Each job is a generator over model requests (see ``calls.py``), so the same logic serves
``invoke`` and ``ainvoke``, and the benchmark's single-model baselines ask exactly the question a
proposer is asked, with the same extraction and the same accounting.
"""

from __future__ import annotations

from collections.abc import Callable

from nsed_graph.agents import Agent
from nsed_graph.calls import (
    CallFailure,
    CallLog,
    Job,
    Reply,
    Request,
    adrive,
    call_all,
    call_one,
    drive,
)
from nsed_graph.config import NSEDConfig
from nsed_graph.prompts import (
    compress_messages,
    extract_messages,
    propose_messages,
    review_messages,
)
from nsed_graph.protocol.answers import extract_answer, marked_answer, normalize_answer
from nsed_graph.protocol.gate import truncate_tokens
from nsed_graph.protocol.masking import assign_labels
from nsed_graph.records import Proposal, Review, Score
from nsed_graph.schemas import answer_schema, batch_review_schema, score_schema, scores_by_label
from nsed_graph.state import CompressTask, ProposeTask, ReviewTask

PeerText = Callable[[Proposal], str]
"""How a proposal is shown to another seat: masked, redacted and cut to budget."""


def propose_job(
    task: ProposeTask, config: NSEDConfig, log: CallLog, *, previous_text: str | None = None
) -> Job[Proposal]:
    """Reason in free text, read the marked answer; ask for the answer alone only if needed."""
    messages = propose_messages(
        task["task"],
        config.answer_format,
        brief=task["brief"],
        previous_answer=previous_text,
        previous_support=task.get("previous_support"),
        critiques=task.get("critiques", []),
    )
    proposal: Proposal = {
        "round": task["round"],
        "agent": task["agent"],
        "ok": False,
        "answer": None,
        "text": "",
        "answer_source": "none",
    }
    reply = yield from call_one(Request("propose", tuple(messages)), log, config.max_retries)
    if isinstance(reply, CallFailure):
        log.fail(reply)
        return proposal
    proposal["text"] = reply.text
    answer = extract_answer(reply.text, config.answer_format)
    if answer is not None:
        marked = marked_answer(reply.text) is not None
        return {
            **proposal,
            "ok": True,
            "answer": answer,
            "answer_source": "marker" if marked else "fallback",
        }
    request = Request(
        "extract",
        tuple(extract_messages(task["task"], reply.text, config.answer_format)),
        schema=answer_schema(config.answer_max_chars),
    )
    extracted = yield from call_one(request, log, config.max_retries)
    if isinstance(extracted, Reply) and extracted.parsed is not None:
        answer = normalize_answer(str(extracted.parsed.get("answer", "")), config.answer_format)
        if answer is not None:
            return {**proposal, "ok": True, "answer": answer, "answer_source": "extract_call"}
    failure = (
        extracted
        if isinstance(extracted, CallFailure)
        else CallFailure("unparseable", "no answer could be read from the proposal")
    )
    log.fail(failure)
    return proposal


def review_job(
    task: ReviewTask, config: NSEDConfig, log: CallLog, *, peer_text: PeerText
) -> Job[Review]:
    """Score every other proposal under this reviewer's own labels; a failed call scores none."""
    by_agent = {p["agent"]: p for p in task["proposals"]}
    assignment = assign_labels(
        [p["agent"] for p in task["proposals"]],
        task["agent"],
        seed=config.seed,
        round_number=task["round"],
        masking=config.masking,
    )
    shown = [(label, peer_text(by_agent[agent])) for label, agent in assignment]
    review: Review = {
        "round": task["round"],
        "reviewer": task["agent"],
        "ok": False,
        "scores": {},
    }
    if config.review_mode == "batch":
        labels = tuple(label for label, _ in shown)
        request = Request(
            "review",
            tuple(review_messages(task["task"], shown)),
            schema=batch_review_schema(labels, config.critique_max_chars),
        )
        reply = yield from call_one(request, log, config.max_retries)
        replies: list[Reply | CallFailure] = [reply]
        parsed = scores_by_label(reply.parsed or {}, labels) if isinstance(reply, Reply) else {}
    else:
        requests = [
            Request(
                "review",
                tuple(review_messages(task["task"], [item], batch=False)),
                schema=score_schema(config.critique_max_chars),
            )
            for item in shown
        ]
        replies = yield from call_all(requests, log, config.max_retries)
        parsed = {
            label: r.parsed
            for (label, _), r in zip(shown, replies, strict=True)
            if isinstance(r, Reply) and r.parsed is not None
        }
    for failure in replies:
        if isinstance(failure, CallFailure):
            log.fail(failure)
    scores: dict[str, Score] = {
        agent: {
            "label": label,
            "weight": float(parsed[label]["weight"]),
            "critique": str(parsed[label]["critique"]),
        }
        for label, agent in assignment
        if label in parsed
    }
    return {**review, "ok": bool(scores), "scores": scores}


def compress_job(task: CompressTask, config: NSEDConfig, log: CallLog) -> Job[str | None]:
    """Rewrite the gate's brief as a compact one, cut to the state budget; None on failure."""
    messages = compress_messages(task["task"], task["brief"], config.state_token_budget)
    reply = yield from call_one(Request("compress", tuple(messages)), log, config.max_retries)
    if isinstance(reply, CallFailure):
        log.fail(reply)
        return None
    return truncate_tokens(reply.text.strip(), config.state_token_budget)


def solo_task(agent: Agent, task: str) -> ProposeTask:
    """A first-round proposer task for one agent alone (the baselines' question)."""
    return {"agent": agent.id, "round": 1, "task": task, "brief": ""}


def propose_once(agent: Agent, task: str, config: NSEDConfig) -> tuple[Proposal, CallLog]:
    """Ask one agent the proposer's question once, blocking; returns its proposal and calls."""
    log = CallLog(agent=agent, round=1, phase="propose")
    return drive(propose_job(solo_task(agent, task), config, log), agent, config), log


async def apropose_once(agent: Agent, task: str, config: NSEDConfig) -> tuple[Proposal, CallLog]:
    """``propose_once`` with async calls."""
    log = CallLog(agent=agent, round=1, phase="propose")
    return await adrive(propose_job(solo_task(agent, task), config, log), agent, config), log
