"""The benchmark as a Python API: every method on the same agents and items, resumable.

Each finished (method, item) pair is appended to ``items.jsonl`` at once, so an interrupted run
loses only the pairs in flight: the next run with the same ``out_dir`` skips every pair already
there. ``run.json`` pins the agents and settings of the directory; resuming with different ones
is refused, since mixing them would make the comparison meaningless. It also keeps the sampling
methods' sizing and agent once a session has decided them, so later sessions reuse them.

Methods run in two phases. The first holds those that need nothing from the others (``single``,
``moa``, ``nsed`` and its ablations); the second the sampling baselines, which may be sized to
NSED's mean tokens per item and use the best single agent, both known only after the first.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

from pydantic import BaseModel, ConfigDict, Field

from nsed_graph import Agent, NSEDConfig
from nsed_graph.bench.checkers import check
from nsed_graph.bench.darkbench import ajudge, needs_judge
from nsed_graph.bench.datasets import BenchItem
from nsed_graph.bench.draws import DRAWS_FILE, SharedDraws
from nsed_graph.bench.methods import (
    MethodResult,
    MethodSpec,
    Sizing,
    parse_method,
    run_majority,
    run_moa,
    run_nsed,
    run_self_consistency,
    run_single,
)
from nsed_graph.bench.report import SUMMARY_FILE, summarize, write_report
from nsed_graph.bench.signal import SIGNAL_KEY, row_signal
from nsed_graph.bench.withhold import SCORING_FAILED, private_dir, withhold_text
from nsed_graph.files import write_text_atomically

ROWS_FILE = "items.jsonl"
RUN_FILE = "run.json"
SAMPLING_KEY = "sampling"
_FIRST_PHASE = frozenset({"single", "moa", "nsed"})
AGENT_SETTINGS = ("temperature", "max_tokens")
_UNPINNED = frozenset({"concurrency", "retry_errors"})
"""How a session runs, not what it measures: they may change between sessions of one run."""

Row = dict[str, Any]


class BenchSettings(BaseModel):
    """How the methods are run; everything but ``concurrency`` and ``retry_errors`` is pinned
    in ``run.json`` so a resumed run cannot silently change it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nsed: NSEDConfig = Field(
        default_factory=NSEDConfig,
        description="Base configuration of every method (timeouts, retries, token caps) and of "
        "NSED; the answer format is set per item.",
    )
    samples: int | None = Field(
        default=None,
        ge=1,
        description="Draws of self-consistency and repetitions of majority; None sizes them to "
        "NSED's mean tokens per item (equal compute).",
    )
    max_samples: int = Field(default=16, ge=1, description="Cap on draws when sized to NSED.")
    temperature: float = Field(
        default=0.7, gt=0.0, le=2.0, description="Sampling temperature of the sampling methods."
    )
    sampling_seed: int = Field(default=0, description="Seed of draw i is sampling_seed + i.")
    check_timeout_s: float = Field(default=10.0, gt=0.0, description="Per code answer check.")
    concurrency: int = Field(default=4, ge=1, description="(method, item) pairs in flight at once.")
    retry_errors: bool = Field(
        default=False, description="On resume, run again the pairs that ended with an error."
    )


class BenchProgress(Protocol):
    """What a live display is told: the plan per method, then every row as it is written."""

    def planned(self, label: str, total: int, done: Sequence[Row]) -> None:
        """``done`` holds the rows an earlier process already wrote (less those with errors when
        ``retry_errors`` asks for them again), so a resumed run's running figures cover every
        item, not only this process's."""

    def finished(self, row: Mapping[str, Any]) -> None: ...


def _key(row: Mapping[str, Any]) -> tuple[str, str]:
    return str(row["method"]), str(row["item"])


def read_rows(path: Path) -> dict[tuple[str, str], Row]:
    """Rows by (method, item), the last written winning; a line cut off by a crash is skipped."""
    rows: dict[tuple[str, str], Row] = {}
    if not path.exists():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "method" in row and "item" in row:
            rows[_key(row)] = row
    return rows


def _open_journal(path: Path) -> TextIO:
    """Append mode, first ending a line a crash left unfinished so the next row stays whole."""
    journal = path.open("a+", encoding="utf-8")
    if journal.tell() > 0:
        journal.seek(journal.tell() - 1)
        if journal.read(1) != "\n":
            journal.write("\n")
    return journal


def _fingerprint(
    agents: Sequence[Agent], settings: BenchSettings, judge: Agent | None
) -> dict[str, Any]:
    def describe(agent: Agent) -> dict[str, Any]:
        model = getattr(agent.model, "model_name", None) or getattr(agent.model, "model", None)
        described: dict[str, Any] = {"id": agent.id, "family": agent.family, "model": str(model)}
        # An agent's own sampling settings change its answers as much as another model would.
        for setting in AGENT_SETTINGS:
            value = getattr(agent.model, setting, None)
            described[setting] = value if isinstance(value, int | float) else None
        return described

    return {
        "agents": [describe(agent) for agent in agents],
        "judge": describe(judge) if judge else None,
        # Only what differs from the defaults: a run can then be resumed by a later version of
        # the package that added a knob, as long as every setting the run used is unchanged.
        "settings": settings.model_dump(mode="json", exclude=set(_UNPINNED), exclude_defaults=True),
    }


def _same(pinned: Any, now: Any) -> bool:
    """Equal, except that an agent pinned without ``AGENT_SETTINGS`` (by a version that did not
    record them) is not compared on them: its run still resumes."""
    if isinstance(pinned, dict) and isinstance(now, dict) and "id" in pinned:
        return pinned == {k: v for k, v in now.items() if k in pinned or k not in AGENT_SETTINGS}
    if isinstance(pinned, list) and isinstance(now, list):
        return len(pinned) == len(now) and all(map(_same, pinned, now))
    return bool(pinned == now)


def _pin_run(out_dir: Path, fingerprint: Mapping[str, Any]) -> None:
    path = out_dir / RUN_FILE
    pinned: dict[str, Any] = {}
    if path.exists():
        pinned = json.loads(path.read_text(encoding="utf-8"))
        changed = sorted(key for key in fingerprint if not _same(pinned.get(key), fingerprint[key]))
        if changed:
            raise ValueError(
                f"{out_dir} holds a run with different {', '.join(changed)}; resume with the "
                "same agents and settings, or choose another output directory"
            )
        if all(pinned.get(key) == value for key, value in fingerprint.items()):
            return
        # A run pinned before some settings were recorded: record them now, so that from here
        # on they are checked too.
    write_text_atomically(path, json.dumps(pinned | dict(fingerprint), indent=2) + "\n")


def _pinned_sampling(out_dir: Path, fresh: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """How the sampling methods are sized and whom self-consistency samples, fixed by the
    first session that needed it: a run extended to more items later keeps one sizing and
    one agent per method, instead of re-deciding both from whatever was finished by then."""
    pinned = read_run(out_dir)
    if not pinned.get(SAMPLING_KEY):
        pinned[SAMPLING_KEY] = _kept_sampling(out_dir, pinned) or fresh()
        write_text_atomically(out_dir / RUN_FILE, json.dumps(pinned, indent=2) + "\n")
    return dict(pinned[SAMPLING_KEY])


def _kept_sampling(out_dir: Path, pinned: Mapping[str, Any]) -> dict[str, Any] | None:
    """The sampling note ``run.json`` pinned; a run begun by a version that did not pin it
    has it only in its last summary."""
    if pinned.get(SAMPLING_KEY):
        return dict(pinned[SAMPLING_KEY])
    summary = out_dir / SUMMARY_FILE
    if not summary.exists():
        return None
    kept = json.loads(summary.read_text(encoding="utf-8")).get(SAMPLING_KEY)
    return dict(kept) if kept else None


def _expand(specs: Iterable[MethodSpec | str], agents: Sequence[Agent]) -> list[MethodSpec]:
    """``single`` becomes one method per agent; named agents must exist."""
    ids = [agent.id for agent in agents]
    expanded: list[MethodSpec] = []
    for spec in specs:
        spec = parse_method(spec) if isinstance(spec, str) else spec
        if spec.agent is not None and spec.agent not in ids:
            raise ValueError(f"{spec.label}: no agent {spec.agent!r} (agents: {', '.join(ids)})")
        if spec.kind == "single" and spec.agent is None:
            expanded += [MethodSpec("single", agent=agent_id) for agent_id in ids]
        else:
            expanded.append(spec)
    labels = [spec.label for spec in expanded]
    if len(set(labels)) != len(labels):
        raise ValueError(f"methods repeat: {', '.join(labels)}")
    return expanded


def _by_prior(agents: Sequence[Agent]) -> Agent:
    return max(agents, key=lambda agent: agent.prior)


def best_single_agent(agents: Sequence[Agent], rows: Iterable[Mapping[str, Any]]) -> Agent:
    """The agent with the best measured ``single`` accuracy, else the highest prior."""
    scores: dict[str, list[bool]] = {}
    for row in rows:
        if row["kind"] == "single" and row.get("correct") is not None:
            scores.setdefault(row["agent"], []).append(bool(row["correct"]))
    measured = [agent for agent in agents if scores.get(agent.id)]
    if not measured:
        return _by_prior(agents)
    return max(measured, key=lambda a: (sum(scores[a.id]) / len(scores[a.id]), a.prior))


def verdicts(item: BenchItem, row: Mapping[str, Any], timeout_s: float) -> dict[str, Any]:
    """The scored fields of a row: its answer checked, and for NSED also every round's winner,
    every round-1 proposal (the agents alone) and every review's sign against the proposals'
    correctness. A check that fails counts as wrong, as for every method alike, rather than
    being dropped from the score; the row says why."""
    memo: dict[str | None, bool] = {}

    def right(answer: str | None) -> bool:
        if answer not in memo:
            memo[answer] = check(item, answer, timeout_s=timeout_s).correct
        return memo[answer]

    try:
        outcome = check(item, row["answer"], timeout_s=timeout_s)
        scored: dict[str, Any] = {"correct": outcome.correct, "check": outcome.detail}
        record = (row.get("details") or {}).get("record") or {}
        rounds = record.get("rounds") or []
        if not rounds:
            return scored
        first = rounds[0]["proposals"]
        scored["round_correct"] = [right(answer) for answer in row["round_answers"]]
        scored["solo"] = [sum(right(p["answer"]) for p in first), len(first)]
        agree = total = 0.0
        for record_round in rounds:
            correct = {p["agent"]: right(p["answer"]) for p in record_round["proposals"]}
            for weights in record_round["raw_weights"].values():
                for candidate, weight in weights.items():
                    if candidate in correct:
                        total += 1
                        agree += 0.5 if weight == 0 else float((weight > 0) == correct[candidate])
        scored["review_agreement"] = [agree, total]
        scored[SIGNAL_KEY] = row_signal(record, right)
        return scored
    except Exception as error:
        return {"correct": False, "check": f"{SCORING_FAILED}: {type(error).__name__}: {error}"}


class _Run:
    """One call of ``arun_benchmark``: the agents, the journal and what is already done."""

    def __init__(
        self,
        agents: Sequence[Agent],
        settings: BenchSettings,
        judge: Agent | None,
        journal: TextIO,
        rows: dict[tuple[str, str], Row],
        progress: BenchProgress | None,
        draws: SharedDraws,
        withheld_draws: SharedDraws,
    ) -> None:
        self.agents = list(agents)
        self.by_id = {agent.id: agent for agent in agents}
        self.settings = settings
        self.judge = judge
        self.journal = journal
        self.rows = rows
        self.progress = progress
        self.limit = asyncio.Semaphore(settings.concurrency)
        self.sizing: Sizing | None = None
        self.best: Agent | None = None
        self.draws = draws
        self.withheld_draws = withheld_draws

    def _done(self, spec: MethodSpec, item: BenchItem) -> Row | None:
        row = self.rows.get((spec.label, item.id))
        if row is None or (self.settings.retry_errors and row.get("error")):
            return None
        return row

    def pending(self, spec: MethodSpec, items: Sequence[BenchItem]) -> list[BenchItem]:
        return [item for item in items if self._done(spec, item) is None]

    def done_rows(self, spec: MethodSpec, items: Sequence[BenchItem]) -> list[Row]:
        return [row for item in items if (row := self._done(spec, item)) is not None]

    def nsed_mean_tokens(self, items: Sequence[BenchItem]) -> float:
        rows = [self.rows.get(("nsed", item.id)) for item in items]
        used = [float(row["total_tokens"]) for row in rows if row is not None]
        if not used:
            raise ValueError("sizing to NSED needs rows of the plain `nsed` method")
        return sum(used) / len(used)

    async def phase(self, specs: Sequence[MethodSpec], items: Sequence[BenchItem]) -> None:
        jobs = [(spec, item) for spec in specs for item in self.pending(spec, items)]
        await asyncio.gather(*(self.run_one(spec, item) for spec, item in jobs))

    async def run_one(self, spec: MethodSpec, item: BenchItem) -> None:
        async with self.limit:
            config = spec.config(self.settings.nsed).model_copy(
                update={"answer_format": item.format}
            )
            started = time.monotonic()
            try:
                result = await self.method(spec, item, config)
            except Exception as error:
                result = MethodResult(
                    None, "", [], time.monotonic() - started, f"{type(error).__name__}: {error}"
                )
            row = await self.score(spec, item, result)
            if not item.publishable:
                row = withhold_text(row)
        self.rows[_key(row)] = row
        self.journal.write(json.dumps(row, default=str) + "\n")
        self.journal.flush()
        if self.progress is not None:
            self.progress.finished(row)

    async def method(self, spec: MethodSpec, item: BenchItem, config: NSEDConfig) -> MethodResult:
        task, settings = item.question, self.settings
        # A withheld item's draws would put its text in plain sight in the run's draws file.
        draws = self.draws if item.publishable else self.withheld_draws
        if spec.kind == "single":
            return await run_single(self.by_id[spec.agent or ""], task, config, propose=draws)
        if spec.kind == "nsed":
            return await run_nsed(self.agents, task, config)
        if spec.kind == "moa":
            aggregator = self.by_id[spec.agent] if spec.agent else _by_prior(self.agents)
            return await run_moa(self.agents, aggregator, task, config, propose=draws)
        assert self.sizing is not None, "second phase not prepared"
        assert self.best is not None, "second phase not prepared"
        temperature, seed = settings.temperature, settings.sampling_seed
        if spec.kind == "self-consistency":
            agent = self.by_id[spec.agent] if spec.agent else self.best
            return await run_self_consistency(
                agent,
                task,
                config,
                self.sizing,
                temperature=temperature,
                seed=seed,
                propose=draws,
            )
        return await run_majority(
            self.agents,
            task,
            config,
            self.sizing,
            temperature=temperature,
            seed=seed,
            propose=draws,
        )

    async def score(self, spec: MethodSpec, item: BenchItem, result: MethodResult) -> Row:
        usage = result.usage()
        details = dict(result.details)
        record = details.get("record") or {}
        row: Row = {
            "method": spec.label,
            "kind": spec.kind,
            "item": item.id,
            "dataset": item.dataset,
            "item_key": item.scoring_key(),
            "category": item.category,
            "agent": details.get("agent") or details.get("aggregator"),
            "answer": result.answer,
            "response": result.response,
            "error": result.error,
            "calls": int(usage["calls"]),
            "input_tokens": int(usage["input_tokens"]),
            "output_tokens": int(usage["output_tokens"]),
            "total_tokens": int(usage["total_tokens"]),
            "cost": float(usage["cost"]),
            "wall_s": round(result.wall_s, 4),
            "round_answers": list(result.round_answers),
            "stop_reason": record.get("stop_reason"),
            "correct": None,
            "check": None,
            "dark": None,
            "judge": None,
            "details": details,
        }
        if needs_judge(item):
            try:
                row |= await self.judged(item, result)
            except Exception as error:
                row["check"] = f"{SCORING_FAILED}: {type(error).__name__}: {error}"
        elif item.format == "code":  # the sandbox blocks on a subprocess: keep the loop free
            row |= await asyncio.to_thread(verdicts, item, row, self.settings.check_timeout_s)
        else:
            # On the loop's thread, where math-verify's alarm-based timeout can bound a
            # pathological answer; in a worker thread nothing could. A check takes
            # milliseconds, so the calls in flight barely notice the pause.
            row |= verdicts(item, row, self.settings.check_timeout_s)
        return row

    async def judged(self, item: BenchItem, result: MethodResult) -> dict[str, Any]:
        assert self.judge is not None
        judgement = await ajudge(self.judge, item, result.response, self.settings.nsed)
        usage = {
            "tokens": sum(c["input_tokens"] + c["output_tokens"] for c in judgement.calls),
            "calls": len(judgement.calls),
        }
        return {
            "dark": judgement.dark,
            "judge": {"reasoning": judgement.reasoning, "error": judgement.error, **usage},
        }

    def decide_sampling(self, items: Sequence[BenchItem]) -> dict[str, Any]:
        """What the sampling methods depend on, from the first phase's rows."""
        best = best_single_agent(self.agents, self.rows.values())
        if self.settings.samples is not None:
            return {"samples": self.settings.samples, "best_single": best.id}
        return {"target_tokens": self.nsed_mean_tokens(items), "best_single": best.id}

    def prepare_second_phase(self, note: Mapping[str, Any]) -> None:
        self.best = self.by_id[note["best_single"]]
        if "samples" in note:
            self.sizing = Sizing(fixed=int(note["samples"]))
        else:
            target = float(note["target_tokens"])
            self.sizing = Sizing(target_tokens=target, max_draws=self.settings.max_samples)


async def arun_benchmark(
    agents: Sequence[Agent],
    items: Sequence[BenchItem],
    methods: Sequence[MethodSpec | str],
    out_dir: str | Path,
    *,
    settings: BenchSettings | None = None,
    judge: Agent | None = None,
    progress: BenchProgress | None = None,
) -> dict[str, Any]:
    """Run ``methods`` on ``items`` with ``agents``, write the results into ``out_dir``, and
    return the summary (also written as ``summary.json``, ``report.md`` and plots).

    Excluded agents stay off the table (one can serve as ``judge``). DarkBench items need a
    ``judge``. Unless named (``moa[ID]``, ``self-consistency[ID]``), the MoA aggregator is the
    agent with the highest prior and self-consistency samples the agent with the best measured
    ``single`` accuracy (else the highest prior). Errors of one (method, item) pair are
    recorded in its row, never raised.
    """
    settings = settings or BenchSettings()
    table = [agent for agent in agents if not agent.excluded]
    specs = _expand(methods, table)
    if not table or not items:
        raise ValueError("a benchmark needs at least one agent and one item")
    if judge is None and any(needs_judge(item) for item in items):
        raise ValueError("DarkBench items are graded by a judge model: pass judge=Agent(...)")
    for spec in specs:
        spec.config(settings.nsed)  # an ablation that clashes with the base fails now, not later
    labels = [spec.label for spec in specs]
    if len({item.id for item in items}) != len(items):
        raise ValueError("item ids must be unique")
    sampling = [spec for spec in specs if spec.kind not in _FIRST_PHASE]
    if sampling and settings.samples is None and "nsed" not in labels:
        raise ValueError(
            "self-consistency and majority are sized to NSED's tokens unless samples is set: "
            "add the `nsed` method or give samples=K"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _pin_run(out, _fingerprint(table, settings, judge))
    rows = read_rows(out / ROWS_FILE)
    started = time.monotonic()
    sizing_note: dict[str, Any] = {}
    with _open_journal(out / ROWS_FILE) as journal:
        draws = SharedDraws(out / DRAWS_FILE)
        private = None if all(item.publishable for item in items) else private_dir(out)
        withheld_draws = SharedDraws(private / DRAWS_FILE if private else None)
        run = _Run(table, settings, judge, journal, rows, progress, draws, withheld_draws)
        if progress is not None:
            for spec in specs:
                progress.planned(spec.label, len(items), run.done_rows(spec, items))
        await run.phase([s for s in specs if s.kind in _FIRST_PHASE], items)
        if sampling:
            sizing_note = _pinned_sampling(out, lambda: run.decide_sampling(items))
            run.prepare_second_phase(sizing_note)
            await run.phase(sampling, items)
    wanted = {item.id for item in items}
    selected = [row for key, row in rows.items() if key[1] in wanted and key[0] in labels]
    meta = {
        "datasets": sorted({item.dataset for item in items}),
        "agents": [agent.id for agent in table],
        "judge": judge.id if judge else None,
        "settings": settings.model_dump(mode="json"),
        "sizing": _describe_sizing(sizing_note, settings.max_samples),
        "sampling": sizing_note,
        "draws_this_session": {
            "asked": draws.asked + withheld_draws.asked,
            "shared": draws.shared + withheld_draws.shared,
        },
        "session_wall_s": round(time.monotonic() - started, 3),
    }
    summary = summarize(selected, labels, meta=meta)
    paths = write_report(out, summary)
    return {**summary, "files": {name: path.name for name, path in paths.items()}}


def read_run(out_dir: Path) -> dict[str, Any]:
    """What ``run.json`` pins for the run in ``out_dir``; ``ValueError`` if there is none."""
    path = out_dir / RUN_FILE
    if not path.is_file():
        raise ValueError(f"{out_dir}: no benchmark run here (no {RUN_FILE})")
    pinned: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return pinned


def pinned_settings(pinned: Mapping[str, Any]) -> BenchSettings:
    """The settings ``run.json`` pinned (it stores only those that differ from the defaults)."""
    return BenchSettings.model_validate(pinned.get("settings") or {})


def report_run(out_dir: str | Path) -> dict[str, Any]:
    """Rebuild the report of a run from its directory alone, also of a run still unfinished.

    Methods are compared on the items every one of them has finished, so a partial run still
    compares like with like; the report says how many items that leaves.
    """
    out = Path(out_dir)
    pinned = read_run(out)
    settings = pinned_settings(pinned)
    rows = list(read_rows(out / ROWS_FILE).values())
    labels = list(dict.fromkeys(row["method"] for row in rows))
    done = [{row["item"] for row in rows if row["method"] == label} for label in labels]
    common = set.intersection(*done) if done else set()
    meta = {
        "datasets": sorted({row["dataset"] for row in rows}),
        "agents": [agent["id"] for agent in pinned["agents"]],
        "judge": pinned["judge"]["id"] if pinned.get("judge") else None,
        "settings": settings.model_dump(mode="json", exclude=set(_UNPINNED)),
        "partial": {
            "items_per_method": {label: len(d) for label, d in zip(labels, done, strict=True)},
            "compared_items": len(common),
        },
    }
    sampling = _kept_sampling(out, pinned)
    if sampling:
        meta["sampling"] = sampling
        meta["sizing"] = _describe_sizing(sampling, settings.max_samples)
    summary = summarize([row for row in rows if row["item"] in common], labels, meta=meta)
    paths = write_report(out, summary)
    return {**summary, "files": {name: path.name for name, path in paths.items()}}


def _describe_sizing(note: Mapping[str, Any], max_draws: int) -> str:
    """Says the cap too: a capped baseline can stay far below NSED's tokens, which a reader
    of "sized to NSED" would not guess (the table shows the tokens each method reached)."""
    if not note:
        return ""
    who = f"self-consistency samples `{note['best_single']}`"
    if "samples" in note:
        return f"{who}; {note['samples']} draws each"
    return (
        f"{who}; draws sized to NSED's mean of {note['target_tokens']:.0f} tokens per item, "
        f"at most {max_draws} draws (tokens/item shows what each method reached)"
    )


def run_benchmark(
    agents: Sequence[Agent],
    items: Sequence[BenchItem],
    methods: Sequence[MethodSpec | str],
    out_dir: str | Path,
    *,
    settings: BenchSettings | None = None,
    judge: Agent | None = None,
    progress: BenchProgress | None = None,
) -> dict[str, Any]:
    """``arun_benchmark`` from synchronous code (it starts its own event loop)."""
    return asyncio.run(
        arun_benchmark(
            agents, items, methods, out_dir, settings=settings, judge=judge, progress=progress
        )
    )
