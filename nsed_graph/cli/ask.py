"""``nsed ask``: one question to an ensemble, with the deliberation shown as it happens.

Without ``--ensemble`` the three embedded local models are fetched (first use), served on
127.0.0.1 and called through ``ChatOpenAI`` exactly like any remote endpoint. They are called
at temperature 0 with seed 0 (``nsed_graph.ensemble.LOCAL_TEMPERATURE``, ``LOCAL_SEED``), every
call, so the same question gets the same deliberation from run to run; an ensemble file's
agents keep the file's ``temperature`` and ``seed`` (or their server's own).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live

from nsed_graph.agents import Agent
from nsed_graph.cli.common import INTERRUPTED, RUNTIME_ERROR, USAGE_ERROR, fail, open_ensemble
from nsed_graph.cli.display import ProgressView, summary
from nsed_graph.config import AnswerFormat, NSEDConfig
from nsed_graph.ensemble import EnsembleError
from nsed_graph.graph import create_nsed_graph
from nsed_graph.local.catalogue import UnknownModelError
from nsed_graph.local.server import LocalServerError
from nsed_graph.local.weights import WeightsError


def ask(
    question: Annotated[str, typer.Argument(help="The task to deliberate on.")],
    ensemble: Annotated[
        Path | None,
        typer.Option(
            "--ensemble",
            "-e",
            help="Ensemble file (YAML/TOML); its agents keep their own temperature and seed. "
            "Default: the embedded local models, at temperature 0 with seed 0.",
        ),
    ] = None,
    rounds: Annotated[int, typer.Option("--rounds", "-r", min=1, max=20)] = 3,
    answer_format: Annotated[
        str, typer.Option("--format", "-f", help="number | integer | choice | latex | code | text")
    ] = "text",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the full run record here.")
    ] = None,
    fast: Annotated[
        bool,
        typer.Option(
            "--fast",
            help="Local default with the two small models only (also temperature 0, seed 0).",
        ),
    ] = False,
) -> None:
    """Ask an ensemble; show live progress, then the answer, a per-round table and the stop.

    The embedded local models (the default, or --fast) are called at temperature 0 with seed 0,
    so a question gets the same deliberation every time it is asked.
    """
    console = Console()
    try:
        config = NSEDConfig(max_rounds=rounds, answer_format=_format(answer_format))
        with open_ensemble(ensemble, fast=fast, explicit_sampling=True) as opened:
            config = config.model_copy(update={"timeout_s": opened.call_timeout_s})
            out = _deliberate(opened.agents, config, question, console)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: servers stopped[/yellow]")
        raise typer.Exit(code=INTERRUPTED) from None
    except (EnsembleError, UnknownModelError) as problem:
        fail(str(problem), USAGE_ERROR)
    except (WeightsError, LocalServerError) as problem:
        fail(str(problem), RUNTIME_ERROR)
    console.print(summary(out))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(out, indent=2, default=str))
        console.print(f"run record written to {json_out}")
    if out.get("error"):
        raise typer.Exit(code=RUNTIME_ERROR)


def _format(value: str) -> AnswerFormat:
    formats: dict[str, AnswerFormat] = {
        f: f for f in ("number", "integer", "choice", "latex", "code", "text")
    }
    if value not in formats:
        fail(f"--format must be one of {', '.join(formats)}; got {value!r}", USAGE_ERROR)
    return formats[value]


def _deliberate(
    agents: list[Agent], config: NSEDConfig, question: str, console: Console
) -> dict[str, Any]:
    """Run the graph, feeding its custom events to the live view; return the final state."""
    graph = create_nsed_graph(agents, config)
    view = ProgressView()
    final: dict[str, Any] = {}
    with Live(view.render(), console=console, refresh_per_second=4, transient=False) as live:
        stream = graph.stream({"task": question}, stream_mode=["custom", "values"])
        for mode, chunk in stream:
            if not isinstance(chunk, dict):
                continue
            if mode == "custom":
                view.update(chunk)
            else:
                final = chunk
            live.update(view.render())
    return final
