"""Child-process entry point that hosts one xllamacpp server; run as a script, not imported.

``xllamacpp.Server`` has no stop method and its constructor blocks (ignoring Ctrl-C) while the
model loads, so each server lives in its own process that the parent can stop or kill at any
moment, freeing the port and the model's memory for certain. This file depends on the standard
library and xllamacpp only, so the child starts fast and never imports nsed_graph.

Protocol: ``argv[1]`` is a JSON object of settings. The child prints one JSON line on stdout,
``{"address": "http://127.0.0.1:PORT"}`` once the model is loaded and the HTTP server is
listening, or ``{"error": "..."}`` before exiting with status 3. It then serves until its stdin
reaches end of file, which happens when the parent closes it or dies, so an orphan never
outlives its parent; it then exits at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any


def _build_params(settings: dict[str, Any]) -> Any:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = settings["model_path"]
    # A set: a bare string would become a set of single letters.
    params.model_alias = set(settings["aliases"])
    params.hostnames = [settings["host"]]
    params.port = int(settings["port"])
    params.n_parallel = int(settings["n_parallel"])
    params.n_ctx = int(settings["n_ctx_per_slot"]) * int(settings["n_parallel"])
    params.verbosity = int(settings["verbosity"])
    # By default the server allows every origin, so any web page open in the user's browser
    # could drive it; callers here are local programs, which need no CORS at all.
    params.cors_origins = ""
    n_threads = settings.get("n_threads")
    if n_threads:
        params.cpuparams.n_threads = int(n_threads)
        params.cpuparams_batch.n_threads = int(n_threads)
    # No chat_template: it takes Jinja text, and the GGUF already carries the right one.
    return params


def _report(message: dict[str, str]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> int:
    """Serve until stdin closes; see the module docstring for the protocol."""
    settings = json.loads(sys.argv[1])
    # Before xllamacpp is imported: spinning OpenMP workers starve the other servers on
    # small machines (parallel calls ran twice as slowly without it).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import xllamacpp

        server = xllamacpp.Server(_build_params(settings))
    except Exception as exc:
        _report({"error": f"{type(exc).__name__}: {exc}"})
        return 3
    _report({"address": str(server.listening_address)})
    sys.stdin.buffer.read()
    # The parent removes the log after a clean stop; if the parent died, nobody else will.
    log_path = settings.get("log_path")
    if log_path:
        with contextlib.suppress(OSError):
            os.unlink(log_path)
    # Exit without deleting the server: its destructor waits for open keep-alive connections
    # (10 s seen after a client's event loop died), and the OS frees the port and memory anyway.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
