"""``nsed report``: rebuild a benchmark run's report (no model call), and the results table
that ``nsed bench`` also prints at the end of a run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nsed_graph.cli.common import USAGE_ERROR, fail


def print_summary(console: Console, summary: Mapping[str, Any], out: Path) -> None:
    """The results table of a run (``summary.json``), the fatigue verdicts, the report path."""
    table = Table(title="Results")
    for column in ("method", "accuracy", "95% CI", "dark rate", "calls/item", "tokens/item"):
        table.add_column(column, justify="left" if column == "method" else "right")

    def pct(measure: Mapping[str, Any] | None) -> tuple[str, str]:
        if not measure or measure["rate"] is None:
            return "–", "–"
        low, high = measure["ci95"]
        return f"{measure['rate']:.1%}", f"{low:.0%}–{high:.0%}"

    for label, method in summary["methods"].items():
        accuracy, interval = pct(method["accuracy"])
        dark, dark_interval = pct((method["darkbench"] or {}).get("overall"))
        table.add_row(
            escape(label),
            accuracy,
            interval if method["accuracy"] else dark_interval,
            dark,
            f"{method['per_item']['calls']:.1f}",
            f"{method['per_item']['total_tokens']:.0f}",
        )
    console.print(table)
    for method in summary["methods"].values():
        fit = (method.get("rounds") or {}).get("fatigue")
        if fit:
            console.print(f"{method['label']}: more rounds? {fit['verdict']}", markup=False)
    console.print(f"report: {out / 'report.md'}", markup=False)


def report(
    out: Annotated[Path, typer.Argument(help="A benchmark output directory.")],
    rescore: Annotated[
        bool,
        typer.Option(
            help="First check every stored answer again with the current checkers and rewrite "
            "items.jsonl (no model call); not while a run writes to OUT."
        ),
    ] = False,
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            help="With --rescore: the dataset name or JSONL path the run used (repeatable); "
            "needed for a user file, whose rows record only its name."
        ),
    ] = None,
    data_path: Annotated[
        Path | None,
        typer.Option(help="With --rescore: the copy of a named set the run read (as in bench)."),
    ] = None,
    sha256: Annotated[
        str | None, typer.Option(help="With --rescore: the checksum the run accepted for it.")
    ] = None,
) -> None:
    """Rebuild report.md, summary.json and the plots of a run, finished or not (no model call).

    An unfinished run is compared on the items every method has finished.
    """
    from nsed_graph.bench.rescore import rescore_run
    from nsed_graph.bench.runner import report_run

    if (dataset or data_path or sha256) and not rescore:
        fail("--dataset, --data-path and --sha256 are only read with --rescore", USAGE_ERROR)
    console = Console()
    try:
        if rescore:
            changed = rescore_run(out, dataset, data_path=data_path, sha256=sha256)
            console.print(
                f"rescored {out}: {len(changed)} rows changed", markup=False, soft_wrap=True
            )
            for row in changed:
                console.print(
                    f"  {row.method} {row.item}: {row.before} -> {row.after}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
        summary = report_run(out)
    except (ValueError, OSError) as error:
        fail(str(error), USAGE_ERROR)
    print_summary(console, summary, out)


__all__ = ["print_summary", "report"]
