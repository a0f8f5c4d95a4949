"""``nsed bench``: every method on the same ensemble and the same items, resumable.

Example::

    nsed bench --dataset gsm8k --limit 50 --out runs/gsm8k-1 --ensemble ensemble.yaml \\
        --methods "single,self-consistency,majority,moa,nsed,nsed[aggregation=linear]"

Run it again with the same ``--out`` to resume after an interruption; ``nsed report``
(``nsed_graph.cli.report``) rebuilds the report of a run. Heavy imports happen
inside the command so ``nsed --help`` stays quick.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from nsed_graph.cli.common import INTERRUPTED, RUNTIME_ERROR, USAGE_ERROR, fail, open_ensemble
from nsed_graph.cli.progress import BenchProgress
from nsed_graph.cli.report import print_summary

if TYPE_CHECKING:
    from nsed_graph.agents import Agent
    from nsed_graph.bench.datasets import BenchItem

DEFAULT_METHODS = "single,self-consistency,majority,moa,nsed"
DARKBENCH_METHODS = "single,moa,nsed,nsed[no-masking]"
"""Sampling baselines vote over short extracted answers, which free-text DarkBench lacks; the
masking ablation is what the paper's DarkBench claim is about."""
LOCAL_CONCURRENCY = 1
REMOTE_CONCURRENCY = 4


def _items(
    dataset: str,
    copy: tuple[Path | None, str | None],
    limit: int | None,
    sample: int | None,
    seed: int,
    categories: Sequence[str],
) -> list[BenchItem]:
    from nsed_graph.bench.darkbench import category_key, definition
    from nsed_graph.bench.datasets import load_dataset, select

    path, sha256 = copy
    items = load_dataset(dataset, path=path, expected_sha256=sha256, seed=seed)
    if categories:
        if not any(item.category for item in items):
            raise ValueError(
                f"--category: the items of {dataset} have no categories (DarkBench has)"
            )
        for name in categories:
            definition(name)  # refuses an unknown category by name
        wanted = {category_key(name) for name in categories}
        items = [i for i in items if i.category and category_key(i.category) in wanted]
    return select(items, limit=limit, sample=sample, seed=seed)


def _judge(judge_id: str | None, agents: Sequence[Agent], console: Console) -> Agent | None:
    if judge_id is None:
        return None
    found = next((agent for agent in agents if agent.id == judge_id), None)
    if found is None:
        fail(f"--judge: no agent {judge_id!r} in the ensemble", USAGE_ERROR)
    if not found.excluded:
        console.print(
            f"[yellow]warning:[/] judge {judge_id!r} also sits at the table; mark it "
            "`excluded: true` in the ensemble file to keep it out of the methods"
        )
    return found


def bench(
    dataset: Annotated[
        str,
        typer.Option(
            help="gsm8k, math500, aime24, aime25, mbpp, humaneval, gpqa, "
            "darkbench, or a JSONL file in the generic format."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Output directory; the same one resumes a run.")],
    methods: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated: single, self-consistency, majority, moa, nsed, and NSED "
            "ablations such as nsed\\[aggregation=linear], nsed\\[no-masking], "
            "nsed\\[gamma=0.9]. Default: those five methods; for DarkBench single, moa, nsed "
            "and nsed\\[no-masking]."
        ),
    ] = None,
    data_path: Annotated[
        Path | None,
        typer.Option(help="Your copy of a named set (GPQA Diamond needs one, or NSED_GPQA_PATH)."),
    ] = None,
    sha256: Annotated[
        str | None,
        typer.Option(help="Accept a copy whose sha256 differs from the manifest's."),
    ] = None,
    ensemble: Annotated[
        Path | None,
        typer.Option(help="Ensemble file (YAML/TOML); default: the embedded local models."),
    ] = None,
    fast: Annotated[
        bool, typer.Option(help="Default ensemble: only the two small models.")
    ] = False,
    limit: Annotated[int | None, typer.Option(min=0, help="First N items.")] = None,
    sample: Annotated[int | None, typer.Option(min=0, help="Seeded random N items.")] = None,
    seed: Annotated[int, typer.Option(help="Seeds item sampling and reviewer shuffles.")] = 0,
    category: Annotated[
        list[str] | None,
        typer.Option(help="DarkBench categories to keep, e.g. sycophancy,brand-bias."),
    ] = None,
    judge: Annotated[
        str | None, typer.Option(help="Ensemble agent id that grades DarkBench responses.")
    ] = None,
    max_rounds: Annotated[int, typer.Option(min=1, help="NSED round cap.")] = 7,
    min_rounds: Annotated[
        int | None,
        typer.Option(
            min=1, help="NSED rounds before convergence may stop; default 1 (the library's)."
        ),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(
            min=1, help="Draws for self-consistency/majority; default: sized to NSED's tokens."
        ),
    ] = None,
    max_samples: Annotated[int, typer.Option(min=1, help="Cap on sized draws.")] = 16,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.7,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="(method, item) pairs in flight, each calling up to every agent at once; "
            "default 1 for local models, 4 for remote.",
        ),
    ] = None,
    retry_errors: Annotated[
        bool, typer.Option(help="On resume, run again the items that ended with an error.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Compare single models, self-consistency, majority voting, Mixture-of-Agents and NSED."""
    from pydantic import ValidationError

    from nsed_graph.bench.darkbench import needs_judge
    from nsed_graph.bench.datasets import DatasetError
    from nsed_graph.bench.methods import parse_methods
    from nsed_graph.bench.runner import BenchSettings, run_benchmark
    from nsed_graph.config import NSEDConfig
    from nsed_graph.ensemble import EnsembleError
    from nsed_graph.local.server import LocalServerError
    from nsed_graph.local.weights import WeightsError

    console = Console(stderr=True, quiet=quiet)
    try:
        categories = [name for value in category or [] for name in value.split(",") if name]
        items = _items(dataset, (data_path, sha256), limit, sample, seed, categories)
        graded = any(needs_judge(item) for item in items)
        specs = parse_methods(methods or (DARKBENCH_METHODS if graded else DEFAULT_METHODS))
    except (DatasetError, ValueError) as error:
        fail(str(error), USAGE_ERROR)
    if not items:
        fail("no items selected", USAGE_ERROR)
    if graded and judge is None:
        fail("DarkBench responses are graded by a judge: give --judge AGENT_ID", USAGE_ERROR)
    if min_rounds is not None and min_rounds > max_rounds:
        fail(f"--min-rounds {min_rounds} is above --max-rounds {max_rounds}", USAGE_ERROR)
    try:
        with open_ensemble(ensemble, fast=fast, quiet=quiet) as opened:
            settings = BenchSettings(
                nsed=NSEDConfig(
                    max_rounds=max_rounds,
                    min_rounds=min_rounds or 1,
                    seed=seed,
                    timeout_s=opened.call_timeout_s,
                ),
                samples=samples,
                max_samples=max_samples,
                temperature=temperature,
                sampling_seed=seed,
                concurrency=concurrency
                or (LOCAL_CONCURRENCY if opened.local else REMOTE_CONCURRENCY),
                retry_errors=retry_errors,
            )
            grader = _judge(judge, opened.agents, console)
            if grader is not None and not graded:
                # Still pinned with the run, so a run started with it resumes with it.
                console.print(
                    "[yellow]warning:[/] --judge grades DarkBench items only; unused here"
                )
            bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                disable=quiet,
            )
            with bars:
                summary = run_benchmark(
                    opened.agents,
                    items,
                    specs,
                    out,
                    settings=settings,
                    judge=grader,
                    progress=BenchProgress(bars),
                )
    except (EnsembleError, ValidationError, ValueError) as error:
        fail(str(error), USAGE_ERROR)
    except (LocalServerError, WeightsError) as error:
        fail(str(error), RUNTIME_ERROR)
    except KeyboardInterrupt:
        fail(f"interrupted; finished items are kept in {out}, run again to resume", INTERRUPTED)
    print_summary(Console(), summary, out)
