"""Compare methods of different runs item by item, e.g. NSED on another ensemble.

Run ``python benchmarks/paired.py RUN_A:nsed RUN_B:nsed RUN_B:self-consistency``. A run
directory pins one ensemble, so an ablation that changes the agents (three equal seats instead
of the default table) lives in a directory of its own; ``nsed report`` compares methods within
one directory only. This script pairs rows across directories on the items they share, with the
same exact McNemar test the report uses. The first argument is the reference.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

# Runs from a checkout too, without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nsed_graph.bench.report import paired_with
from nsed_graph.bench.runner import ROWS_FILE, read_rows


def method_rows(spec: str) -> tuple[str, list[dict[str, Any]]]:
    """The scored rows of ``DIR:METHOD`` (``nsed`` when no method is named)."""
    directory, _, method = spec.partition(":")
    method = method or "nsed"
    journal = Path(directory) / ROWS_FILE
    if not journal.is_file():
        raise SystemExit(f"{journal}: not found; give a directory `nsed bench --out` wrote")
    rows = [
        row
        for row in read_rows(journal).values()
        if row["method"] == method and row.get("correct") is not None
    ]
    if not rows:
        raise SystemExit(f"{spec}: no scored `{method}` rows")
    return f"{Path(directory).name}:{method}", rows


def compare(specs: list[str]) -> list[str]:
    """Lines of a Markdown table: each method against the first on the items both scored."""
    name, reference = method_rows(specs[0])
    keys = {row["item"]: row.get("item_key") for row in reference}
    lines = [
        f"| method | items | right: method / `{name}` | only `{name}` right "
        "| only the method right | p |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for spec in specs[1:]:
        label, rows = method_rows(spec)
        differing = [
            row["item"]
            for row in rows
            if row.get("item_key") and keys.get(row["item"]) not in (None, row["item_key"])
        ]
        if differing:
            raise SystemExit(f"{label}: item {differing[0]} differs from {name}'s copy")
        paired = paired_with(reference, rows)
        if paired is None:
            raise SystemExit(f"{label} shares no scored item with {name}")
        shared = {row["item"] for row in rows} & keys.keys()
        right = sum(bool(row["correct"]) for row in rows if row["item"] in shared)
        mine = sum(bool(row["correct"]) for row in reference if row["item"] in shared)
        lines.append(
            f"| `{label}` | {paired['items']} | {right} / {mine} | {paired['reference_only']} "
            f"| {paired['other_only']} | {paired['p_value']:.3g} |"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reference", help="DIR[:METHOD] of the method the others are held to")
    parser.add_argument("others", nargs="+", help="DIR[:METHOD] of each method to compare")
    args = parser.parse_args(argv)
    print("\n".join(compare([args.reference, *args.others])))


if __name__ == "__main__":
    main()
