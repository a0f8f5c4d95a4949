"""What every command that talks to models shares: opening an ensemble and failing cleanly.

An ensemble is a file (remote endpoints and/or ``local:`` models) or, without one, the embedded
local default. Either way the command gets plain ``Agent``s; local servers are started before
and stopped after the ``with`` block, also on an error or Ctrl-C, so no command needs to know
whether a model is local.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import typer

from nsed_graph.agents import Agent
from nsed_graph.ensemble import (
    LOCAL_TIMEOUT_S,
    EnsembleError,
    check_endpoints,
    default_local_ensemble,
    load_ensemble_file,
)

USAGE_ERROR = 2
RUNTIME_ERROR = 1
INTERRUPTED = 130
REMOTE_TIMEOUT_S = 120.0


def fail(message: str, code: int) -> NoReturn:
    """End the command with a one-line message on stderr and no traceback."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=code)


@dataclass(frozen=True)
class OpenEnsemble:
    """Agents ready to call. ``local`` says some are served on this machine, which is slow and
    has few parallel slots, so callers keep concurrency low and timeouts long."""

    agents: list[Agent]
    local: bool

    @property
    def call_timeout_s(self) -> float:
        """A per-call timeout that does not cut off a slow local answer."""
        return LOCAL_TIMEOUT_S if self.local else REMOTE_TIMEOUT_S


@contextlib.contextmanager
def open_ensemble(
    path: Path | None,
    *,
    fast: bool = False,
    quiet: bool = False,
    explicit_sampling: bool = False,
) -> Iterator[OpenEnsemble]:
    """Load ``path`` (or the local default; ``fast`` picks its two small models), probe the
    remote endpoints so a typo fails in seconds, and serve the local models for the block.

    ``explicit_sampling`` gives the local default's agents their explicit temperature and seed
    (``nsed_graph.ensemble.LOCAL_TEMPERATURE``, ``LOCAL_SEED``; ``nsed ask`` asks for it).
    Without it they keep the server's own sampling, as ``nsed bench`` runs were pinned with,
    so those runs still resume. A file's agents always keep the file's settings.

    Raises ``EnsembleError`` for a bad file or unreachable endpoint; local server and weight
    errors propagate as the ``nsed_graph.local`` exceptions.
    """
    spec = (
        load_ensemble_file(path)
        if path is not None
        else default_local_ensemble(fast=fast, explicit_sampling=explicit_sampling)
    )
    problems = check_endpoints(spec)
    if problems:
        raise EnsembleError("unreachable endpoints:\n  " + "\n  ".join(map(str, problems)))
    local_ids = spec.local_model_ids()
    if not local_ids:
        yield OpenEnsemble(spec.build_agents(), local=False)
        return
    from nsed_graph.local.server import serve_local_models

    with serve_local_models(local_ids, quiet=quiet) as base_urls:
        yield OpenEnsemble(spec.build_agents(base_urls), local=True)
