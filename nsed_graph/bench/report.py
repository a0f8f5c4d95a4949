"""From per-item rows to the numbers a reader trusts: intervals, equal-compute costs, the
per-round curve with its efficiency-fatigue fit, and the files ``summary.json``, ``report.md``
and two PNG plots.

Everything here is computed from the rows alone, so a report can be rebuilt from
``items.jsonl`` without calling a model again.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nsed_graph.bench.darkbench import category_key
from nsed_graph.bench.signal import SIGNAL_KEY, signal_section, summarize_signal
from nsed_graph.bench.withhold import SCORING_FAILED
from nsed_graph.protocol.stopping import FatigueParams, optimal_rounds, utility

Row = Mapping[str, Any]

Z_95 = 1.959963984540054
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.md"
COST_PLOT_FILE = "cost_accuracy.png"
ROUND_PLOT_FILE = "round_curve.png"

MIN_FIT_POINTS = 4
"""Three free parameters (p_g, k, beta) need at least one point more to say anything."""
WORTHWHILE_GAIN = 0.005
"""Predicted accuracy gain below which more rounds are not worth their cost."""
PAIRED_REFERENCE = "nsed"
"""Every other method is compared item by item with this one."""
_COST_FIELDS = ("calls", "input_tokens", "output_tokens", "total_tokens", "cost", "wall_s")


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion (Wilson 1927).

    Unlike the normal approximation it stays within [0, 1] and is sensible at 0 or n
    successes, which small benchmark runs hit often. ``n = 0`` gives the vacuous ``(0, 1)``.
    """
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within 0..{n}, got {successes}")
    p = successes / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # The interval always contains p; min/max only undo rounding at p = 0 or 1.
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def exact_mcnemar(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar p-value for two methods scored on the same items.

    Only the items exactly one method got right carry evidence; if neither method were
    better, each of them would be a fair coin. On a few dozen items this paired test can see
    a difference that two overlapping Wilson intervals cannot.
    """
    if only_first < 0 or only_second < 0:
        raise ValueError("counts must not be negative")
    n = only_first + only_second
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(only_first, only_second) + 1))
    return min(1.0, 2 * tail / (1 << n))


def paired_with(reference: Sequence[Row], other: Sequence[Row]) -> dict[str, Any] | None:
    """``other`` against ``reference`` on the items both scored: who alone was right, and the
    exact McNemar p-value of that split."""
    first = {r["item"]: bool(r["correct"]) for r in reference if r.get("correct") is not None}
    second = {r["item"]: bool(r["correct"]) for r in other if r.get("correct") is not None}
    common = first.keys() & second.keys()
    if not common:
        return None
    only_first = sum(first[i] and not second[i] for i in common)
    only_second = sum(second[i] and not first[i] for i in common)
    return {
        "items": len(common),
        "reference_only": only_first,
        "other_only": only_second,
        "p_value": exact_mcnemar(only_first, only_second),
    }


def _proportion(successes: int, n: int) -> dict[str, Any]:
    low, high = wilson_interval(successes, n)
    return {
        "successes": successes,
        "n": n,
        "rate": successes / n if n else None,
        "ci95": [low, high],
    }


@dataclass(frozen=True)
class FatigueFit:
    """The efficiency-fatigue model fitted to a per-round accuracy curve (docs/protocol.md,
    "6. Stop").

    p_v and L enter U(t) only through ``k = L (p_v - p_g)``, so the curve fixes p_g, k and
    beta; p_v is measured from the reviews (how often a weight's sign matched the answer's
    correctness) and L is derived as ``k / (p_v - p_g)`` when p_v exceeds p_g.
    """

    p_g: float
    k: float
    beta: float
    p_v: float | None
    L: float | None
    r2: float | None
    t_opt: float
    u_opt: float
    rounds_run: int
    more_rounds_help: bool
    verdict: str


def _params(p_g: float, k: float, beta: float, p_v: float | None = None) -> FatigueParams:
    """Parameters with the fitted k; without a usable p_v any (p_v, L) with that k gives the
    same U(t) and T_opt, so p_v = 1 stands in."""
    p_v = p_v if p_v is not None and p_v > p_g else 1.0
    return FatigueParams(p_g=p_g, p_v=p_v, L=k / (p_v - p_g), beta=beta)


def fit_fatigue(
    points: Sequence[tuple[float, float]], *, p_v: float | None = None
) -> FatigueFit | None:
    """Least-squares fit of ``U(t)`` to ``(round, accuracy)`` points; round 0 is the agents alone.

    Returns None with fewer than ``MIN_FIT_POINTS`` points or when the fit does not converge.
    """
    if len(points) < MIN_FIT_POINTS:
        return None
    import numpy as np
    from scipy.optimize import curve_fit

    t = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)

    def model(ts: Any, p_g: float, k: float, beta: float) -> Any:
        params = _params(p_g, k, beta)
        return np.array([utility(float(x), params) for x in ts])

    start = (min(max(float(y[0]), 0.01), 0.98), 1.0, 0.01)
    try:
        fitted, _ = curve_fit(
            model, t, y, p0=start, bounds=([0.0, 1e-6, 1e-9], [0.99, 50.0, 1.0]), maxfev=5000
        )
    except (RuntimeError, ValueError):
        return None
    p_g, k, beta = (float(v) for v in fitted)
    residual = float(np.sum((y - model(t, p_g, k, beta)) ** 2))
    spread = float(np.sum((y - y.mean()) ** 2))
    flat = float(np.ptp(y)) < 1e-12  # equal rates can differ by a rounding bit from their mean
    params = _params(p_g, k, beta, p_v)
    t_opt = optimal_rounds(params)
    rounds_run = int(t.max())
    u_opt, u_last = utility(t_opt, params), utility(rounds_run, params)
    more = not flat and round(t_opt) > rounds_run and u_opt - u_last >= WORTHWHILE_GAIN
    where = f"the fitted curve peaks at round {t_opt:.1f} (U = {u_opt:.3f})"
    if flat:
        verdict = "cannot tell: accuracy was the same after every round, so nothing was fitted"
    elif more:
        verdict = f"yes: {where}, beyond the {rounds_run} rounds run (U = {u_last:.3f} there)"
    else:
        verdict = (
            f"no: {where}; more than {rounds_run} rounds is predicted to gain under "
            f"{WORTHWHILE_GAIN:.1%} or to lose accuracy to fatigue"
        )
    return FatigueFit(
        p_g=p_g,
        k=k,
        beta=beta,
        p_v=p_v,
        L=params.L if p_v is not None and p_v > p_g else None,
        r2=None if flat else 1.0 - residual / spread,
        t_opt=t_opt,
        u_opt=u_opt,
        rounds_run=rounds_run,
        more_rounds_help=more,
        verdict=verdict,
    )


def round_curve(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Accuracy after each round over scored NSED rows; round 0 is the agents alone (their
    round-1 proposals). A run that stopped early keeps its last round's answer afterwards, as
    the deliberation would have; ``ran`` says on how many items round t was really run, since
    a point carried forward says nothing about fatigue."""
    scored = [r for r in rows if r.get("correct") is not None]
    if not scored:
        return []
    solo = [r["solo"] for r in scored if r.get("solo")]
    curve = []
    if solo:
        right, total = sum(s[0] for s in solo), sum(s[1] for s in solo)
        curve.append({"round": 0, **_proportion(right, total)})
    last = max(len(r.get("round_correct") or []) for r in scored)
    for t in range(1, last + 1):
        hits = sum(
            bool(r["round_correct"][min(t, len(r["round_correct"])) - 1])
            for r in scored
            if r.get("round_correct")
        )
        ran = sum(len(r.get("round_correct") or []) >= t for r in scored)
        curve.append({"round": t, **_proportion(hits, len(scored)), "ran": ran})
    return curve


def _reviewer_accuracy(rows: Sequence[Row]) -> float | None:
    pairs = [r["review_agreement"] for r in rows if r.get("review_agreement")]
    total = sum(p[1] for p in pairs)
    return sum(p[0] for p in pairs) / total if total else None


def _darkbench(rows: Sequence[Row]) -> dict[str, Any] | None:
    judged = [r for r in rows if r.get("category") is not None and r.get("correct") is None]
    if not judged:
        return None

    def rate(group: Sequence[Row]) -> dict[str, Any]:
        graded = [r for r in group if r.get("dark") is not None]
        return {
            **_proportion(sum(bool(r["dark"]) for r in graded), len(graded)),
            "unjudged": len(group) - len(graded),
        }

    categories = sorted({category_key(r["category"]) for r in judged})
    return {
        "overall": rate(judged),
        "categories": {
            c: rate([r for r in judged if category_key(r["category"]) == c]) for c in categories
        },
    }


def summarize_method(label: str, rows: Sequence[Row]) -> dict[str, Any]:
    """One method's accuracy, dark-pattern rate, compute per item and, for NSED, its curve."""
    n = len(rows)
    totals = {key: sum(float(r.get(key) or 0) for r in rows) for key in _COST_FIELDS}
    checked = [r for r in rows if r.get("correct") is not None]
    summary: dict[str, Any] = {
        "label": label,
        "kind": rows[0]["kind"] if rows else label.split("[")[0],
        "n": n,
        "errors": sum(1 for r in rows if r.get("error")),
        "scoring_failed": sum(
            1
            for r in rows
            if r.get("correct") is not None and str(r.get("check")).startswith(SCORING_FAILED)
        ),
        "accuracy": (
            _proportion(sum(bool(r["correct"]) for r in checked), len(checked)) if checked else None
        ),
        "darkbench": _darkbench(rows),
        "per_item": {key: value / n if n else 0.0 for key, value in totals.items()},
        "totals": totals,
        "agents": sorted({r["agent"] for r in rows if r.get("agent")}),
    }
    if summary["kind"] == "nsed":
        curve = round_curve(rows)
        p_v = _reviewer_accuracy(checked)
        fit = fit_fatigue([(c["round"], c["rate"]) for c in curve], p_v=p_v)
        summary["rounds"] = {
            "curve": curve,
            "reviewer_accuracy": p_v,
            "fatigue": asdict(fit) if fit else None,
            "stop_reasons": dict(Counter(r["stop_reason"] for r in rows if r.get("stop_reason"))),
        }
        summary[SIGNAL_KEY] = summarize_signal(checked)
    return summary


def summarize(
    rows: Sequence[Row], labels: Sequence[str], *, meta: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The whole run: ``meta`` (agents, settings, ...) and one summary per method label."""
    by_label: dict[str, list[Row]] = {label: [] for label in labels}
    for row in rows:
        if row["method"] in by_label:
            by_label[row["method"]].append(row)
    methods = {label: summarize_method(label, group) for label, group in by_label.items()}
    if PAIRED_REFERENCE in by_label:
        for label, group in by_label.items():
            if label != PAIRED_REFERENCE:
                methods[label]["vs_nsed"] = paired_with(by_label[PAIRED_REFERENCE], group)
    return {**(meta or {}), "items": len({row["item"] for row in rows}), "methods": methods}


# ---- files -----------------------------------------------------------------------------------


def write_report(out_dir: str | Path, summary: Mapping[str, Any]) -> dict[str, Path]:
    """Write ``summary.json``, the plots and ``report.md`` into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"summary": out / SUMMARY_FILE, "report": out / REPORT_FILE}
    if plot_cost_accuracy(summary, out / COST_PLOT_FILE):
        paths["cost_plot"] = out / COST_PLOT_FILE
    if plot_round_curve(summary, out / ROUND_PLOT_FILE):
        paths["round_plot"] = out / ROUND_PLOT_FILE
    files = {name: path.name for name, path in paths.items()}
    paths["summary"].write_text(
        json.dumps({**summary, "files": files}, indent=2) + "\n", encoding="utf-8"
    )
    paths["report"].write_text(render_markdown(summary, files), encoding="utf-8")
    return paths


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _ci(proportion: Mapping[str, Any] | None) -> str:
    if not proportion or proportion["rate"] is None:
        return "–"
    low, high = proportion["ci95"]
    return f"{100 * low:.1f}–{100 * high:.1f}%"


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


_SHARED_DRAWS_NOTE = (
    "An identical question is asked once per run and its answer shared (MoA's proposers and "
    "`single`; self-consistency's draw i and majority's repetition i for the same agent), and "
    "every method is charged the calls and tokens of the draws it used. Wall time is elapsed "
    "time, shared with the other pairs in flight and shortened where a draw was already "
    "answered: compare cost by calls and tokens."
)


def render_markdown(summary: Mapping[str, Any], files: Mapping[str, str]) -> str:
    """The human-readable report; every number in it is also in ``summary.json``."""
    methods: Mapping[str, Mapping[str, Any]] = summary["methods"]
    lines = [
        f"# Benchmark: {', '.join(summary.get('datasets', [])) or 'items'} "
        f"({summary['items']} items)",
        "",
        f"Agents: {', '.join(summary.get('agents', []))}. Every method ran on the same items "
        "with the same agents, prompts and answer extraction.",
    ]
    if summary.get("sizing"):
        lines.append(f"Sampling methods: {summary['sizing']}.")
    partial = summary.get("partial")
    if partial and any(
        n != partial["compared_items"] for n in partial["items_per_method"].values()
    ):
        finished = ", ".join(f"`{k}` {v}" for k, v in partial["items_per_method"].items())
        lines.append(
            f"Partial run: items finished per method: {finished}. The tables compare the "
            f"{partial['compared_items']} items that every method has finished."
        )
    lines += ["", "## Accuracy and compute", ""]
    lines += _table(
        (
            "method",
            "n",
            "accuracy",
            "95% CI (Wilson)",
            "calls/item",
            "tokens in/item",
            "tokens out/item",
            "wall s/item",
            "errors",
        ),
        [
            (
                f"`{label}`",
                str(m["n"]),
                _pct(m["accuracy"]["rate"] if m["accuracy"] else None),
                _ci(m["accuracy"]),
                f"{m['per_item']['calls']:.1f}",
                f"{m['per_item']['input_tokens']:.0f}",
                f"{m['per_item']['output_tokens']:.0f}",
                f"{m['per_item']['wall_s']:.1f}",
                str(m["errors"]),
            )
            for label, m in methods.items()
        ],
    )
    failed = {label: m["scoring_failed"] for label, m in methods.items() if m.get("scoring_failed")}
    if failed:
        counts = ", ".join(f"`{label}` {n}" for label, n in failed.items())
        lines += [
            "",
            f"Scoring failed on some rows, which count as wrong ({counts}); their `check` field "
            "in the rows says why. Fix the item or checker, then `nsed report --rescore`.",
        ]
    if any(m.get("kind", label) != "nsed" for label, m in methods.items()):
        lines += ["", _SHARED_DRAWS_NOTE]
    lines += _paired_section(methods)
    if "cost_plot" in files:
        lines += ["", f"![cost versus accuracy]({files['cost_plot']})"]
    lines += _round_section(methods, files)
    lines += signal_section(methods)
    lines += _darkbench_section(methods)
    return "\n".join(lines) + "\n"


def _paired_section(methods: Mapping[str, Mapping[str, Any]]) -> list[str]:
    paired = {label: m["vs_nsed"] for label, m in methods.items() if m.get("vs_nsed")}
    if not paired:
        return []
    return [
        "",
        f"## Item by item against `{PAIRED_REFERENCE}`",
        "",
        "On the items both methods scored: how many only one of them got right, and the exact "
        "two-sided McNemar p-value, the chance of a split at least this uneven if neither were "
        "better.",
        "",
        *_table(
            ("method", "items", f"only `{PAIRED_REFERENCE}` right", "only the method right", "p"),
            [
                (
                    f"`{label}`",
                    str(p["items"]),
                    str(p["reference_only"]),
                    str(p["other_only"]),
                    f"{p['p_value']:.3g}",
                )
                for label, p in paired.items()
            ],
        ),
    ]


def _round_section(methods: Mapping[str, Mapping[str, Any]], files: Mapping[str, str]) -> list[str]:
    curves = {
        label: m["rounds"] for label, m in methods.items() if m.get("rounds", {}).get("curve")
    }
    if not curves:
        return []
    last = max(c["curve"][-1]["round"] for c in curves.values())
    lines = [
        "",
        "## NSED accuracy by round",
        "",
        "Round 0 is the agents alone (their round-1 proposals); a run that stopped early "
        "keeps its last answer, and the count in brackets says on how many items a round "
        "really ran where that was not all of them: a carried point says nothing about "
        "fatigue, so a curve for the fit is best run with `min_rounds` equal to `max_rounds`.",
        "",
    ]
    rows = []
    for t in range(last + 1):
        cells = []
        for rounds in curves.values():
            point = next((c for c in rounds["curve"] if c["round"] == t), None)
            ran = point.get("ran", point["n"]) if point else 0
            shown = "–" if point is None else _pct(point["rate"])
            cells.append(shown if point is None or ran == point["n"] else f"{shown} ({ran} ran)")
        rows.append((str(t), *cells))
    lines += _table(("round", *(f"`{label}`" for label in curves)), rows)
    lines += [
        "",
        "### Efficiency-fatigue fit",
        "",
        "U(t) = 1 − (1 − p_g)·exp(−L·(p_v − p_g)·t) − β·t²; p_v is measured from the "
        "reviews, p_g, k = L·(p_v − p_g) and β are fitted.",
        "",
    ]
    fit_rows = []
    for label, rounds in curves.items():
        fit = rounds["fatigue"]
        if fit is None:
            fit_rows.append((f"`{label}`", *("–",) * 7, "too few rounds to fit"))
            continue
        fit_rows.append(
            (
                f"`{label}`",
                _num(fit["p_g"]),
                _num(fit["p_v"]),
                _num(fit["L"]),
                _num(fit["beta"]),
                _num(fit["r2"]),
                f"{fit['t_opt']:.1f}",
                _pct(fit["u_opt"]),
                fit["verdict"],
            )
        )
    lines += _table(
        ("method", "p_g", "p_v", "L", "β", "R²", "T_opt", "U(T_opt)", "more rounds?"), fit_rows
    )
    if "round_plot" in files:
        lines += ["", f"![accuracy by round]({files['round_plot']})"]
    return lines


def _darkbench_section(methods: Mapping[str, Mapping[str, Any]]) -> list[str]:
    graded = {label: m["darkbench"] for label, m in methods.items() if m.get("darkbench")}
    if not graded:
        return []
    categories = sorted({c for d in graded.values() for c in d["categories"]})
    rows = [
        (
            f"`{label}`",
            _pct(d["overall"]["rate"]),
            _ci(d["overall"]),
            *(_pct(d["categories"].get(c, {}).get("rate")) for c in categories),
            str(d["overall"]["unjudged"]),
        )
        for label, d in graded.items()
    ]
    return [
        "",
        "## DarkBench (share of responses showing the pattern; lower is better)",
        "",
        *_table(("method", "overall", "95% CI", *categories, "unjudged"), rows),
    ]


# ---- plots -----------------------------------------------------------------------------------


def _figure() -> Any:
    """A figure on the Agg canvas directly, so no GUI backend or pyplot state is involved."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.5), layout="tight")
    FigureCanvasAgg(figure)
    return figure


def plot_cost_accuracy(summary: Mapping[str, Any], path: Path) -> bool:
    """Tokens per item against accuracy (or dark-pattern rate), with 95% intervals as bars."""
    points = []
    for label, m in summary["methods"].items():
        measure = m["accuracy"] or (m["darkbench"] or {}).get("overall")
        if measure and measure["rate"] is not None and m["n"]:
            points.append((label, m["per_item"]["total_tokens"], measure))
    if not points:
        return False
    figure = _figure()
    axes = figure.add_subplot()
    names: dict[tuple[float, float], list[str]] = {}
    for label, tokens, measure in points:
        low, high = measure["ci95"]
        rate = measure["rate"]
        axes.errorbar([tokens], [rate], yerr=[[rate - low], [high - rate]], fmt="o", capsize=3)
        names.setdefault((tokens, rate), []).append(label)
    for (tokens, rate), labels in names.items():
        text = "\n".join(labels)  # methods at the same point share one label, not a smudge
        axes.annotate(text, (tokens, rate), textcoords="offset points", xytext=(5, 5), fontsize=8)
    positive = [tokens for _, tokens, _ in points if tokens > 0]
    if positive and max(positive) > 10 * min(positive):
        axes.set_xscale("log")
    judged_only = all(m["accuracy"] is None for m in summary["methods"].values())
    axes.set_xlabel("tokens per item (input + output)")
    axes.set_ylabel("dark-pattern rate (lower is better)" if judged_only else "accuracy")
    axes.set_title("Cost versus " + ("dark-pattern rate" if judged_only else "accuracy"))
    axes.grid(alpha=0.3)
    figure.savefig(path, dpi=120)
    return True


def plot_round_curve(summary: Mapping[str, Any], path: Path) -> bool:
    """Accuracy after each NSED round, with the fitted U(t) drawn through it."""
    curves = {
        label: m["rounds"]
        for label, m in summary["methods"].items()
        if m.get("rounds", {}).get("curve")
    }
    if not curves:
        return False
    figure = _figure()
    axes = figure.add_subplot()
    for label, rounds in curves.items():
        ts = [c["round"] for c in rounds["curve"]]
        line = axes.plot(ts, [c["rate"] for c in rounds["curve"]], "o", label=label)[0]
        fit = rounds["fatigue"]
        if fit:
            params = _params(fit["p_g"], fit["k"], fit["beta"])
            grid = [max(ts) * 1.5 * i / 100 for i in range(101)]
            axes.plot(grid, [utility(x, params) for x in grid], "-", color=line.get_color())
    axes.set_xlabel("round (0 = agents alone)")
    axes.set_ylabel("accuracy")
    axes.set_title("NSED accuracy by round, with the efficiency-fatigue fit")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.savefig(path, dpi=120)
    return True
