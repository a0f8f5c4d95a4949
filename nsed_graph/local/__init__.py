"""Embedded local models: a catalogue of small instruct GGUFs, their fetch-and-verify, and
loopback llama.cpp servers, so nsed-graph deliberates with no API key and no model hub.

Nothing here imports xllamacpp: servers run in child processes (see ``server``).
"""

from nsed_graph.local.catalogue import (
    CATALOGUE,
    DEFAULT_ENSEMBLE,
    FAST_ENSEMBLE,
    LocalModel,
    UnknownModelError,
    WheelPart,
    get_model,
    known_model_ids,
)
from nsed_graph.local.server import (
    LocalServer,
    LocalServerError,
    LocalServerGroup,
    PortInUseError,
    serve_local_models,
    start_local_models,
)
from nsed_graph.local.weights import (
    ChecksumMismatchError,
    DownloadError,
    NotEnoughDiskSpaceError,
    ProgressEvent,
    WeightsError,
    cache_dir,
    ensure_model,
    ensure_models,
    is_cached,
    model_path,
)

__all__ = [
    "CATALOGUE",
    "DEFAULT_ENSEMBLE",
    "FAST_ENSEMBLE",
    "ChecksumMismatchError",
    "DownloadError",
    "LocalModel",
    "LocalServer",
    "LocalServerError",
    "LocalServerGroup",
    "NotEnoughDiskSpaceError",
    "PortInUseError",
    "ProgressEvent",
    "UnknownModelError",
    "WeightsError",
    "WheelPart",
    "cache_dir",
    "ensure_model",
    "ensure_models",
    "get_model",
    "is_cached",
    "known_model_ids",
    "model_path",
    "serve_local_models",
    "start_local_models",
]
