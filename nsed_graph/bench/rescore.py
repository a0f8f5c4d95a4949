"""Check a run's stored answers again with the current checkers, without calling a model.

A checker bug found after a long run (hours on small hardware) should cost a rescore, not a
rerun: every row keeps the extracted answer, each NSED round's winner and every round's
proposals and review weights, which is all a verdict depends on. The items come from the
datasets the rows name (or the files the user gives), loaded with the run's pinned seed so
shuffled options keep the letters the run used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nsed_graph.bench.darkbench import needs_judge
from nsed_graph.bench.datasets import BenchItem, DatasetError, load_dataset
from nsed_graph.bench.runner import (
    ROWS_FILE,
    Row,
    pinned_settings,
    read_rows,
    read_run,
    verdicts,
)
from nsed_graph.bench.signal import SIGNAL_KEY
from nsed_graph.bench.withhold import WITHHELD, withhold_text
from nsed_graph.files import write_text_atomically

SCORED_KEYS = ("correct", "round_correct", "solo", "review_agreement", SIGNAL_KEY)


@dataclass(frozen=True, slots=True)
class Rescored:
    """One row whose verdict changed: what the run wrote and what the checkers say now."""

    method: str
    item: str
    before: Any
    after: Any


def run_items(
    rows: Sequence[Mapping[str, Any]],
    datasets: Sequence[str] | None = None,
    *,
    seed: int,
    data_path: str | Path | None = None,
    sha256: str | None = None,
) -> dict[str, BenchItem]:
    """The items a run's ``rows`` were scored on, by id, loaded with the run's ``seed``.

    Rows name their dataset; a user file is named by its stem only, so it must be given again
    as ``datasets`` (names or paths), and a named set read from the user's own copy needs that
    copy again as ``data_path`` (with ``sha256`` if it was accepted by one). Raises
    ``ValueError`` naming the fix when a set cannot be loaded, lacks an item the rows hold, or
    holds an item that differs from the one a row was scored against.
    """
    sources = list(datasets or sorted({str(row["dataset"]) for row in rows}))
    try:
        items = {
            item.id: item
            for name in sources
            for item in load_dataset(name, path=data_path, expected_sha256=sha256, seed=seed)
        }
    except DatasetError as error:
        hint = "" if datasets else "; give the file the run used as --dataset PATH"
        raise ValueError(f"{error}{hint}") from None
    missing = sorted({str(row["item"]) for row in rows} - items.keys())
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise ValueError(
            f"{len(missing)} of the run's items are not in {', '.join(sources)}: {shown}; give "
            "the dataset the run used as --dataset NAME_OR_PATH"
        )
    changed = sorted(
        {
            str(row["item"])
            for row in rows
            if row.get("item_key") and row["item_key"] != items[str(row["item"])].scoring_key()
        }
    )
    if changed:
        raise ValueError(
            f"{len(changed)} items of {', '.join(sources)} differ from the copy the run scored "
            f"(first: {changed[0]}); give that copy: --dataset NAME_OR_PATH, and for a named "
            "set read from your own file --data-path FILE"
        )
    return items


def rescore_run(
    out_dir: str | Path,
    datasets: Sequence[str] | None = None,
    *,
    data_path: str | Path | None = None,
    sha256: str | None = None,
) -> list[Rescored]:
    """Score every row of the run in ``out_dir`` again and rewrite ``items.jsonl`` in place
    (atomically); return the rows whose verdict changed. Rows graded by a judge (DarkBench)
    and withheld answers too long to have been kept are left as they are.

    Do not run it while ``nsed bench`` writes to the same directory: rows it appends during
    the rescore would be lost.
    """
    out = Path(out_dir)
    settings = pinned_settings(read_run(out))
    rows = read_rows(out / ROWS_FILE)
    if not rows:
        raise ValueError(f"{out}: no rows in {ROWS_FILE} to rescore")
    items = run_items(
        list(rows.values()), datasets, seed=settings.nsed.seed, data_path=data_path, sha256=sha256
    )
    changed: list[Rescored] = []
    for key, row in rows.items():
        item = items[str(row["item"])]
        if needs_judge(item) or row.get("answer") == WITHHELD:
            continue
        scored = verdicts(item, row, settings.check_timeout_s)
        scored = scored if item.publishable else withhold_text(scored)
        # Every scored field is replaced (a failed check must not leave old round verdicts),
        # in place, so a rescored file differs from the old one only where verdicts do.
        new: Row = {k: v for k, v in (row | scored).items() if k in scored or k not in SCORED_KEYS}
        before = {k: row.get(k) for k in SCORED_KEYS if k in row or k in new}
        after = {k: new.get(k) for k in before}
        if before != after:
            changed.append(Rescored(key[0], key[1], before, after))
        rows[key] = new
    lines = "".join(json.dumps(row, default=str) + "\n" for row in rows.values())
    write_text_atomically(out / ROWS_FILE, lines)
    return changed
