"""Live progress of ``nsed bench``: one Rich bar per method, and one line per finished pair
where the output is a log rather than a terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.markup import escape
from rich.progress import Progress


class BenchProgress:
    """One bar per method, its description carrying the running accuracy (or dark rate).

    Labels are escaped: ``single[qwen]`` would otherwise be read as Rich markup and vanish.
    Where the console is not a terminal, each finished pair is also printed as one line.
    """

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}
        self.scores: dict[str, tuple[int, int]] = {}  # label: (hits, scored)

    def planned(self, label: str, total: int, done: Sequence[Mapping[str, Any]]) -> None:
        self.tasks[label] = self.progress.add_task(escape(label), total=total, completed=len(done))
        self.scores[label] = (0, 0)
        for row in done:  # a resumed run's figure covers the earlier process's items too
            self._count(row, advance=0)

    def _count(self, row: Mapping[str, Any], advance: int) -> None:
        label = str(row["method"])
        outcome = row.get("correct") if row.get("correct") is not None else row.get("dark")
        hits, scored = self.scores[label]
        if outcome is not None:
            hits, scored = hits + bool(outcome), scored + 1
            self.scores[label] = (hits, scored)
        measure = "dark" if row.get("dark") is not None else "acc"
        shown = f"{label}  {measure} {hits / scored:.0%}" if scored else label
        self.progress.update(self.tasks[label], advance=advance, description=escape(shown))

    def finished(self, row: Mapping[str, Any]) -> None:
        self._count(row, advance=1)
        label = str(row["method"])
        console = self.progress.console
        if not console.is_terminal:  # a log file or CI: bars never redraw there, lines do
            task = self.progress.tasks[self.tasks[label]]
            verdict = "unscored"
            if row.get("correct") is not None:
                verdict = "right" if row["correct"] else "wrong"
            elif row.get("dark") is not None:
                verdict = "dark pattern" if row["dark"] else "no dark pattern"
            console.print(
                f"{task.completed:.0f}/{task.total:.0f} {label} {row['item']}: {verdict}, "
                f"answer {row.get('answer')!r}, {row.get('calls')} calls, "
                f"{row.get('wall_s', 0):.0f} s"
                + (f", error: {row['error']}" if row.get("error") else ""),
                markup=False,
                highlight=False,
                soft_wrap=True,  # one line per pair, however long, so logs stay greppable
            )


__all__ = ["BenchProgress"]
