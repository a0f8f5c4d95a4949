"""Serve the local models over loopback as OpenAI-compatible endpoints (llama.cpp via xllamacpp).

The local ensemble is not a special code path: each model gets its own llama.cpp server on
127.0.0.1, and agents talk to it with the same ``ChatOpenAI`` client as to any remote endpoint.
One server per model and per port, because a server ignores the ``model`` field of a request:
routing is by port.

Each server runs in a child process (see ``_server_child.py``): ``xllamacpp.Server`` has no stop
method (dropping it stops it, but waits for open keep-alive connections) and its constructor
holds off Ctrl-C while the model loads, whereas a process can always be stopped or killed, which
frees its port and memory for certain; a test can also kill one to play a crashed endpoint.
Children sit in their own session, so a terminal's Ctrl-C reaches only the parent, which then
stops them in order; and they exit by themselves when the parent dies, because their stdin (a
pipe from the parent) closes.

Typical use::

    spec = default_local_ensemble(fast=True)          # or load_ensemble_file(path)
    with serve_local_models(spec.local_model_ids()) as base_urls:
        agents = spec.build_agents(base_urls)          # {id: "http://127.0.0.1:PORT/v1"}
        ...
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from nsed_graph.local.catalogue import LocalModel, resolve_models
from nsed_graph.local.weights import (
    ProgressCallback,
    cache_dir,
    ensure_models,
    is_cached,
    model_path,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_N_PARALLEL = 2
"""Two slots: enough for two concurrent requests per model without splitting the context thin."""
DEFAULT_START_TIMEOUT_S = 180.0
DEFAULT_VERBOSITY = 2
"""llama.cpp log level for the child's log file: warnings and errors, not every request."""

_CHILD_SCRIPT = Path(__file__).with_name("_server_child.py")
_STOP_GRACE_S = 10.0


class LocalServerError(RuntimeError):
    """A local server could not start or stay up; the message says which model and why."""


class PortInUseError(LocalServerError):
    """The requested port is taken; omit it to let the operating system pick a free one."""


@dataclass
class LocalServer:
    """Handle on one model's server process: its URL, and ways to stop it gently or not.

    ``kill()`` exists so tests can make an agent fail mid-run, as a crashed remote would.
    """

    model_id: str
    port: int
    base_url: str
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path
    _reader: threading.Thread = field(repr=False)

    @property
    def pid(self) -> int:
        """The child's process id, for diagnostics."""
        return self.process.pid

    def is_running(self) -> bool:
        """True while the child process is alive (it may still be loading)."""
        return self.process.poll() is None

    def stop(self, timeout_s: float = _STOP_GRACE_S) -> None:
        """Ask the child to exit (close its stdin), then terminate and kill if it lingers.

        Idempotent; the log file is removed once the child is gone.
        """
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                self.kill()
        self._cleanup()

    def kill(self) -> None:
        """Kill the child at once (SIGKILL), as a crash would; the port is free afterwards."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        # The child is gone, so its stdout is at end of file: the reader thread ends by itself,
        # and joining it before closing the pipe avoids closing a stream under a reader.
        self._reader.join(timeout=5.0)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        with contextlib.suppress(FileNotFoundError):
            self.log_path.unlink()


class LocalServerGroup:
    """The servers of one ensemble; a context manager that always stops them all.

    Long-lived use (``nsed models serve``): create it with :func:`start_local_models`, call
    :meth:`wait` until a server dies or the user presses Ctrl-C, then :meth:`stop`. An
    ``atexit`` hook stops it too, in case the caller forgets.
    """

    def __init__(self, servers: Mapping[str, LocalServer]) -> None:
        self.servers: dict[str, LocalServer] = dict(servers)
        atexit.register(self.stop)

    @property
    def base_urls(self) -> dict[str, str]:
        """``{model id: "http://127.0.0.1:PORT/v1"}``, ready for ``build_agents``."""
        return {model_id: server.base_url for model_id, server in self.servers.items()}

    def stop(self) -> None:
        """Stop every server, even if stopping one fails or the user presses Ctrl-C again."""
        atexit.unregister(self.stop)
        errors: list[BaseException] = []
        for server in self.servers.values():
            try:
                server.stop()
            except BaseException as exc:  # keep going: the others must not be left behind
                server.kill()
                errors.append(exc)
        if errors:
            raise errors[0]

    def wait(self, poll_s: float = 0.5) -> str:
        """Block until a server exits on its own; returns its model id."""
        while True:
            for model_id, server in self.servers.items():
                if not server.is_running():
                    return model_id
            time.sleep(poll_s)

    def __enter__(self) -> LocalServerGroup:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class _Launch:
    model: LocalModel
    model_path: Path
    port: int
    process: subprocess.Popen[bytes]
    lines: queue.Queue[str | None]
    reader: threading.Thread
    log_path: Path


def _check_xllamacpp() -> None:
    if importlib.util.find_spec("xllamacpp") is None:
        raise LocalServerError(
            "xllamacpp is not installed, so local models cannot be served; install the "
            "'local' extra: pip install 'nsed-graph[local]'"
        )


def check_port_free(host: str, port: int) -> None:
    """Fail early and clearly if ``port`` is taken, instead of after a model load."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUseError(
                f"port {port} on {host} is in use ({exc.strerror}); choose another port, "
                "or give none to use a free one"
            ) from None


def _assign_ports(
    model_ids: Sequence[str], ports: Mapping[str, int] | Sequence[int] | None
) -> dict[str, int]:
    """0 means "let the server bind a free port", which avoids probe-then-bind races."""
    if ports is None:
        return dict.fromkeys(model_ids, 0)
    if isinstance(ports, Mapping):
        unknown = sorted(set(ports) - set(model_ids))
        if unknown:
            raise LocalServerError(f"ports given for models not being served: {unknown}")
        return {model_id: int(ports.get(model_id, 0)) for model_id in model_ids}
    if len(ports) != len(model_ids):
        raise LocalServerError(
            f"{len(ports)} ports given for {len(model_ids)} models; give one port per model"
        )
    return {model_id: int(port) for model_id, port in zip(model_ids, ports, strict=True)}


def _read_lines(stream: Iterable[bytes], lines: queue.Queue[str | None]) -> None:
    for raw in stream:
        lines.put(raw.decode("utf-8", errors="replace").strip())
    lines.put(None)


def _spawn(
    model: LocalModel,
    model_path: Path,
    *,
    host: str,
    port: int,
    n_parallel: int,
    n_threads: int | None,
    verbosity: int,
    logs: Path,
) -> _Launch:
    settings: dict[str, object] = {
        "model_path": str(model_path),
        "aliases": [model.id],
        "host": host,
        "port": port,
        "n_parallel": n_parallel,
        "n_ctx_per_slot": model.n_ctx_per_slot,
        "n_threads": n_threads,
        "verbosity": verbosity,
    }
    logs.mkdir(parents=True, exist_ok=True)
    fd, log_name = tempfile.mkstemp(prefix=f"{model.id}-", suffix=".log", dir=logs)
    settings["log_path"] = log_name
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))
    with os.fdopen(fd, "wb") as log:
        process = subprocess.Popen(
            # -P: do not put this package's folder on the child's sys.path.
            [sys.executable, "-P", str(_CHILD_SCRIPT), json.dumps(settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            start_new_session=True,
        )
    lines: queue.Queue[str | None] = queue.Queue()
    assert process.stdout is not None
    reader = threading.Thread(
        target=_read_lines, args=(process.stdout, lines), name=f"nsed-{model.id}", daemon=True
    )
    reader.start()
    return _Launch(model, model_path, port, process, lines, reader, Path(log_name))


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _startup_failure(launch: _Launch, reason: str) -> LocalServerError:
    tail = _log_tail(launch.log_path)
    if "couldn't bind" in tail:
        return PortInUseError(
            f"{launch.model.id}: port {launch.port} is in use; choose another port, "
            "or give none to use a free one"
        )
    return LocalServerError(
        f"{launch.model.id}: server did not start ({reason}); log: {launch.log_path}\n{tail}"
    )


def _await_address(launch: _Launch, deadline: float) -> str:
    """The child prints its address once loaded; anything else is a failed start."""
    try:
        line = launch.lines.get(timeout=max(0.0, deadline - time.monotonic()))
    except queue.Empty:
        raise _startup_failure(launch, "timed out while loading the model") from None
    if line is None:
        raise _startup_failure(launch, f"process exited with code {launch.process.wait()}")
    try:
        message = json.loads(line)
    except ValueError:
        raise _startup_failure(launch, f"unexpected output {line!r}") from None
    if "address" not in message:
        raise _startup_failure(launch, str(message.get("error", message)))
    return str(message["address"])


def health_status(address: str, timeout_s: float = 2.0) -> int | None:
    """HTTP status of ``/health`` (200 ready, 503 loading), or None if nothing answers."""
    try:
        with urllib.request.urlopen(f"{address}/health", timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def _await_health(launch: _Launch, address: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if health_status(address) == 200:
            return
        if launch.process.poll() is not None:
            raise _startup_failure(launch, "process exited while loading")
        time.sleep(0.1)
    raise _startup_failure(launch, "/health did not answer 200 in time")


def _finish(launch: _Launch, deadline: float) -> LocalServer:
    address = _await_address(launch, deadline)
    _await_health(launch, address, deadline)
    port = urlsplit(address).port or launch.port
    return LocalServer(
        model_id=launch.model.id,
        port=port,
        base_url=f"{address}/v1",
        process=launch.process,
        log_path=launch.log_path,
        _reader=launch.reader,
    )


def _abandon(launch: _Launch, error: BaseException) -> None:
    """Kill a child that never became ready; keep its log only if the error points to it."""
    if launch.process.poll() is None:
        launch.process.kill()
    launch.process.wait()
    launch.reader.join(timeout=5.0)
    for stream in (launch.process.stdin, launch.process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    if str(launch.log_path) not in str(error):
        with contextlib.suppress(FileNotFoundError):
            launch.log_path.unlink()


def start_local_models(
    model_ids: Sequence[str],
    *,
    host: str = DEFAULT_HOST,
    ports: Mapping[str, int] | Sequence[int] | None = None,
    n_parallel: int = DEFAULT_N_PARALLEL,
    n_threads: int | None = None,
    start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
    verbosity: int = DEFAULT_VERBOSITY,
    cache: Path | None = None,
    fetch: bool = True,
    quiet: bool = False,
    progress: ProgressCallback | None = None,
) -> LocalServerGroup:
    """Start one server per model and return once all answer ``/health`` with 200.

    The long-lived form: the caller owns the returned group and must ``stop()`` it (or use it
    in a ``with``). Weights are fetched first unless ``fetch`` is False. All children load in
    parallel; if any fails, or the caller is interrupted, every child started so far is killed
    before the error propagates.
    """
    models = resolve_models(model_ids)
    if n_parallel < 1:
        raise LocalServerError(f"n_parallel must be at least 1, got {n_parallel}")
    _check_xllamacpp()
    assigned = _assign_ports([m.id for m in models], ports)
    for model in models:
        if assigned[model.id]:
            check_port_free(host, assigned[model.id])
    paths = _model_paths(models, cache=cache, fetch=fetch, quiet=quiet, progress=progress)
    launches: list[_Launch] = []
    ready: dict[str, LocalServer] = {}
    try:
        for model in models:
            launches.append(
                _spawn(
                    model,
                    paths[model.id],
                    host=host,
                    port=assigned[model.id],
                    n_parallel=n_parallel,
                    n_threads=n_threads,
                    verbosity=verbosity,
                    logs=(cache if cache is not None else cache_dir()) / "logs",
                )
            )
        deadline = time.monotonic() + start_timeout_s
        for launch in launches:
            ready[launch.model.id] = _finish(launch, deadline)
    except BaseException as exc:
        for launch in launches:
            _abandon(launch, exc)
        raise
    return LocalServerGroup(ready)


def _model_paths(
    models: Sequence[LocalModel],
    *,
    cache: Path | None,
    fetch: bool,
    quiet: bool,
    progress: ProgressCallback | None,
) -> dict[str, Path]:
    if fetch:
        return ensure_models([m.id for m in models], cache=cache, quiet=quiet, progress=progress)
    missing = [m.id for m in models if not is_cached(m, cache)]
    if missing:
        raise LocalServerError(
            f"models not downloaded yet: {', '.join(missing)}; run `nsed models pull "
            f"{' '.join(missing)}` or pass fetch=True"
        )
    return {m.id: model_path(m, cache) for m in models}


@contextlib.contextmanager
def serve_local_models(
    model_ids: Sequence[str],
    *,
    host: str = DEFAULT_HOST,
    ports: Mapping[str, int] | Sequence[int] | None = None,
    n_parallel: int = DEFAULT_N_PARALLEL,
    n_threads: int | None = None,
    start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
    cache: Path | None = None,
    fetch: bool = True,
    quiet: bool = False,
    progress: ProgressCallback | None = None,
) -> Iterator[dict[str, str]]:
    """Serve ``model_ids`` for the duration of a ``with`` block; yields ``{id: base_url}``.

    The servers are stopped on leaving the block, also on an exception or Ctrl-C, and no
    process or thread is left behind. Use :func:`start_local_models` for a handle per model
    (``.stop()``, ``.kill()``).
    """
    group = start_local_models(
        model_ids,
        host=host,
        ports=ports,
        n_parallel=n_parallel,
        n_threads=n_threads,
        start_timeout_s=start_timeout_s,
        cache=cache,
        fetch=fetch,
        quiet=quiet,
        progress=progress,
    )
    with group:
        yield group.base_urls
