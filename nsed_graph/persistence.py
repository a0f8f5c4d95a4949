"""Where telemetry lives between runs: the one seam between the broker's pure history and storage.

The broker learns from plain data (``broker.telemetry``); this module alone reads and writes
it: in the LangGraph store when the graph was compiled with one (namespace
``("nsed", "telemetry")``, key ``config.telemetry_key``), else in ``config.telemetry_file`` when
set, else nowhere (every run starts with no history).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from langgraph.config import get_store
from langgraph.store.base import BaseStore

from nsed_graph.broker.telemetry import normalize_telemetry
from nsed_graph.config import NSEDConfig
from nsed_graph.files import write_text_atomically

TELEMETRY_NAMESPACE = ("nsed", "telemetry")
TELEMETRY_VERSION = 1


def load_history(config: NSEDConfig) -> dict[str, Any]:
    """What earlier runs learned, from the graph's store or the telemetry file.

    A telemetry file that cannot be read (corrupt, foreign, not UTF-8, a directory, no
    permission) is no history, said in a ``RuntimeWarning``: telemetry steers the broker, and
    losing it must never stop a run (issue 16)."""
    store = _store()
    if store is not None:
        item = store.get(TELEMETRY_NAMESPACE, config.telemetry_key)
        return normalize_telemetry(item.value) if item is not None else {}
    if config.telemetry_file:
        try:
            return load_telemetry(Path(config.telemetry_file))
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            _warn(f"cannot be read ({error}); this run starts with no history", config)
    return {}


def save_history(config: NSEDConfig, telemetry: Mapping[str, Any]) -> None:
    """Keep this run's telemetry where ``load_history`` will find it next time; a file that
    cannot be written loses this run's telemetry, said in a warning, never its answer."""
    store = _store()
    if store is not None:
        store.put(TELEMETRY_NAMESPACE, config.telemetry_key, dict(telemetry))
    elif config.telemetry_file:
        try:
            save_telemetry(Path(config.telemetry_file), telemetry)
        except OSError as error:
            _warn(f"cannot be written ({error}); this run's telemetry is not kept", config)


def _warn(problem: str, config: NSEDConfig) -> None:
    """Say a telemetry problem once (Python shows a repeated warning from one place once)."""
    warnings.warn(
        f"telemetry_file {config.telemetry_file}: {problem}", RuntimeWarning, stacklevel=3
    )


def _store() -> BaseStore | None:
    """The graph's store, if it was compiled with one (``get_store`` needs a run context)."""
    try:
        return get_store()
    except RuntimeError:
        return None


def save_telemetry(path: str | os.PathLike[str], telemetry: Mapping[str, Any]) -> None:
    """Write the telemetry as versioned JSON, atomically: a crash never leaves half a file."""
    payload = json.dumps(
        {"version": TELEMETRY_VERSION, "agents": dict(telemetry)}, indent=1, sort_keys=True
    )
    write_text_atomically(Path(path), payload)


def load_telemetry(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read telemetry written by ``save_telemetry``; a missing file is an empty history."""
    target = Path(path)
    if not target.exists():
        return {}
    data = json.loads(target.read_text(encoding="utf-8"))
    version = data.get("version") if isinstance(data, dict) else None
    if version != TELEMETRY_VERSION or not isinstance(data.get("agents"), dict):
        raise ValueError(
            f"{target}: not a telemetry file of version {TELEMETRY_VERSION} (found version "
            f"{version!r}); delete it to start a fresh history"
        )
    return normalize_telemetry(data["agents"])
