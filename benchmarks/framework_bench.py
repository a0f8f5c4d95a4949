"""What the framework adds to a deliberation: critical path, checkpoints, throughput, faults.

Run ``python benchmarks/framework_bench.py`` (about two minutes on two cores; ``--quick`` for a
smoke run). Every model is scripted, so the figures measure the library, not a model: each call
sleeps a fixed latency, and the physical limit of a run is the number of serial phases times
that latency. Printed, per part, with the ratios measured in this one run (medians of
``--repeats``):

1. critical path: wall / limit for N = 3, 5, 8 seats under invoke, stream, ainvoke and astream,
   3 rounds of propose + review (200 ms calls), with and without a compressor seat;
2. checkpoints: bytes the in-memory saver holds after runs of 1 to 10 rounds at N = 8, and the
   bytes each further round adds (round 10 against round 2);
3. throughput: 100 concurrent deliberations (N = 3, 2 rounds, 100 ms calls) under ``ainvoke``,
   against the ideal of one deliberation's limit;
4. the fault path: a hung seat (a 0.3 s timeout, a model that never answers in time), a 429
   storm from a loopback endpoint (Retry-After 0.2 s, then answers), a dead endpoint (a closed
   port): wall per round against a healthy table, requests seen against attempts recorded.

Not measured here (issue 14 asks for them; not built yet): framework CPU per round with a
profile, the largest prompt per round against a full-history debate, the SQLite saver, and the
real local ensemble's fan-out and prompt-cache hits.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import pickle
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Runs from a checkout too, without installing the package; the loopback endpoint is the tests'.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from endpoint_stub import Step, scripted_endpoint  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402

from nsed_graph import Agent, NSEDConfig, RoleSpec, create_nsed_graph  # noqa: E402
from nsed_graph.ensemble import parse_ensemble  # noqa: E402
from nsed_graph.testing import (  # noqa: E402
    WORKED,
    ScriptedCall,
    ScriptedChatModel,
    constant_judge,
    review_reply,
)

TASK = "What is 6 x 7? Answer with a number."
JUDGE = constant_judge({"42": 60, "41": -60})
MODES = ("invoke", "stream", "ainvoke", "astream")


def scripted(agent_id: str, answer: str, latency_s: float) -> Agent:
    def respond(call: ScriptedCall) -> object:
        if call.structured:
            return review_reply(call.prompt, call.schema, JUDGE)
        return f"{WORKED}\nANSWER: {answer}"

    return Agent(id=agent_id, model=ScriptedChatModel(respond=respond, latency_s=latency_s))


def table(n: int, latency_s: float) -> list[Agent]:
    """``n`` seats that never agree unanimously (42 and 41 alternate), so every round is played."""
    return [scripted(f"s{i}", "42" if i % 2 else "41", latency_s) for i in range(n)]


def played(rounds: int, **options: Any) -> NSEDConfig:
    """Fixed rounds with reviews that run (and count), the answer format of the scripts."""
    settings: dict[str, Any] = {
        "max_rounds": rounds,
        "min_rounds": rounds,
        "unanimous_exit": False,
        "review_weight": 1.0,
        "answer_format": "number",
    }
    return NSEDConfig(**{**settings, **options})


def run(graph: Any, mode: str) -> dict[str, Any]:
    task = {"task": TASK}
    if mode == "invoke":
        return dict(graph.invoke(task))
    if mode == "stream":
        out: dict[str, Any] = {}
        for chunk in graph.stream(task, stream_mode="values"):
            out = chunk
        return out
    if mode == "ainvoke":
        return dict(asyncio.run(graph.ainvoke(task)))

    async def consume() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async for chunk in graph.astream(task, stream_mode="values"):
            out = chunk
        return out

    return asyncio.run(consume())


def timed(action: Callable[[], object], repeats: int) -> float:
    walls = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


def critical_path(repeats: int, sizes: tuple[int, ...]) -> None:
    latency, rounds = 0.2, 3
    print("\n1. Critical path: wall / physical limit (3 rounds of propose + review, 200 ms calls)")
    print(f"{'seats':>5} {'compressor':>10} " + " ".join(f"{m:>8}" for m in MODES))
    for n in sizes:
        for compressor in (False, True):
            agents = table(n, latency)
            options: dict[str, Any] = {}
            phases = 2
            if compressor:
                scribe = Agent(
                    id="scribe",
                    model=ScriptedChatModel(respond=lambda c: "Brief.", latency_s=latency),
                    tags={"writer"},
                )
                agents = [*agents, scribe]
                options = {
                    "table_size": n + 1,
                    "state_token_budget": 50,  # the gate cuts, so the compressor runs
                    "roles": {
                        "proposer_reviewer": RoleSpec(min_seats=n),
                        "compressor": RoleSpec(
                            min_seats=1, max_seats=1, tags=frozenset({"writer"})
                        ),
                    },
                }
                phases = 3
            graph = create_nsed_graph(agents, played(rounds, **options))
            limit = rounds * phases * latency
            ratios = [timed(lambda g=graph, m=mode: run(g, m), repeats) / limit for mode in MODES]
            print(
                f"{n:>5} {'yes' if compressor else 'no':>10} "
                + " ".join(f"{r:8.2f}" for r in ratios)
            )


def checkpoint_bytes(max_rounds: int) -> None:
    print("\n2. Checkpoints: in-memory saver bytes after a run of R rounds, N = 8, instant calls")
    totals = []
    for rounds in range(1, max_rounds + 1):
        saver = InMemorySaver()
        graph = create_nsed_graph(table(8, 0.0), played(rounds), checkpointer=saver)
        graph.invoke({"task": TASK}, {"configurable": {"thread_id": "t"}})
        size = len(pickle.dumps((dict(saver.storage), dict(saver.blobs), dict(saver.writes))))
        totals.append(size)
    added = [totals[0]] + [b - a for a, b in itertools.pairwise(totals)]
    for rounds, (total, extra) in enumerate(zip(totals, added, strict=True), start=1):
        held, grew = f"{total / 1e6:7.2f} MB", f"{extra / 1e3:8.1f} kB"
        print(f"  R = {rounds:>2}: {held} held, round {rounds} added {grew}")
    if len(added) >= 10:
        print(f"  round 10 added {added[9] / added[1]:.2f}x what round 2 added (target: 1.5x)")


def throughput(count: int) -> None:
    latency, rounds = 0.1, 2
    graph = create_nsed_graph(table(3, latency), played(rounds))
    limit = rounds * 2 * latency

    async def many() -> None:
        await asyncio.gather(*(graph.ainvoke({"task": TASK}) for _ in range(count)))

    started = time.perf_counter()
    asyncio.run(many())
    wall = time.perf_counter() - started
    print(f"\n3. Throughput: {count} concurrent deliberations (N = 3, 2 rounds, 100 ms calls)")
    print(f"  {wall:.2f} s against an ideal {limit:.2f} s: {wall / limit:.1f}x (target: 3x)")


def remote(url: str) -> Agent:
    entries = [{"id": name, "base_url": url, "model": "stub"} for name in ("remote", "spare")]
    return parse_ensemble({"agents": entries}).build_agents()[0]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fault_path() -> None:
    rounds = 3
    print("\n4. Fault path: wall per round, 3 rounds, 3 healthy 200 ms seats plus the faulty one")
    healthy = table(3, 0.2)
    config = played(rounds, timeout_s=0.3, max_retries=2, retry_backoff_s=0.05)
    base = timed(lambda: create_nsed_graph(healthy, config).invoke({"task": TASK}), 1) / rounds
    print(f"  healthy table:  {base:.2f} s a round")
    hung = Agent(id="hung", model=ScriptedChatModel(respond=lambda c: "ANSWER: 42", latency_s=30))
    out: dict[str, Any] = {}

    def with_hung() -> None:
        out.update(create_nsed_graph([*healthy, hung], config).invoke({"task": TASK}))

    wall = timed(with_hung, 1) / rounds
    tries = sum(1 for c in out["calls"] if c["agent"] == "hung")
    seated = sum(1 for r in out["rounds"] if any(s["agent"] == "hung" for s in r["seats"]))
    print(
        f"  a hung seat:    {wall:.2f} s a round; {tries} attempt(s), seated in {seated} round(s)"
    )
    storm = [Step(429, headers={"Retry-After": "0.2"})] * 2 + [
        Step(content=f"{WORKED}\nANSWER: 42")
    ]
    with scripted_endpoint(*storm) as endpoint:
        wall = (
            timed(
                lambda: out.update(
                    create_nsed_graph([*healthy, remote(endpoint.url)], config).invoke(
                        {"task": TASK}
                    )
                ),
                1,
            )
            / rounds
        )
        attempts = sum(1 for c in out["calls"] if c["agent"] == "remote")
        print(
            f"  a 429 storm:    {wall:.2f} s a round; {len(endpoint.arrivals)} requests seen, "
            f"{attempts} attempts recorded"
        )
    dead = remote(f"http://127.0.0.1:{closed_port()}/v1")
    wall = (
        timed(
            lambda: out.update(create_nsed_graph([*healthy, dead], config).invoke({"task": TASK})),
            1,
        )
        / rounds
    )
    seated = sum(1 for r in out["rounds"] if any(s["agent"] == "remote" for s in r["seats"]))
    print(f"  a dead endpoint: {wall:.2f} s a round; seated in {seated} round(s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer sizes and runs")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    critical_path(repeats, (3,) if args.quick else (3, 5, 8))
    checkpoint_bytes(3 if args.quick else 10)
    throughput(10 if args.quick else 100)
    fault_path()


if __name__ == "__main__":
    main()
