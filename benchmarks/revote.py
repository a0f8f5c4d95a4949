"""Would another vote rule have picked better from the same round-1 proposals and reviews?

Run ``python benchmarks/revote.py benchmarks/results/gsm8k-30`` on a finished or unfinished
``nsed bench`` run. NSED's round 1 is the one round whose inputs do not depend on the vote rule
(from round 2 on, proposers read the previous winner), so its recorded proposals and review
weights can be tallied again under every aggregation, calibration and pooling rule, and as a
vote over answers (``vote_unit="answers"``) at several ``review_weight`` values, without
calling a model. This separates two questions a lost benchmark raises: could the reviewers'
weights have found the right proposal at all (some rule picks it), or did this rule miss it?

Reviewer reliability is left out: in round 1 it has no history yet, so every reviewer weighs the
same and the result equals the plain rule. The printed "any proposal right" row is the ceiling
that no vote over these proposals can pass; "plurality" and the agents alone are the baselines
read from the same proposals.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import Counter
from pathlib import Path
from typing import Any

# Runs from a checkout too, without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nsed_graph.bench.checkers import check
from nsed_graph.bench.datasets import BenchItem
from nsed_graph.bench.rescore import run_items
from nsed_graph.bench.runner import ROWS_FILE, pinned_settings, read_rows, read_run
from nsed_graph.config import Aggregation, Calibration
from nsed_graph.local.catalogue import CATALOGUE
from nsed_graph.protocol.evidence import answer_vote
from nsed_graph.protocol.voting import tally

AGGREGATIONS: tuple[Aggregation, ...] = ("quadratic", "linear", "majority")
CALIBRATIONS: tuple[Calibration, ...] = ("none", "center", "zscore")
REVIEW_WEIGHTS = (0.0, 0.5, 1.0)


def round_one(row: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, dict[str, float]]]:
    """The usable proposals of round 1 and the weights every usable review gave them."""
    first = row["details"]["record"]["rounds"][0]
    proposals = [p for p in first["proposals"] if p["ok"]]
    weights = {
        review["reviewer"]: {agent: score["weight"] for agent, score in review["scores"].items()}
        for review in first["reviews"]
        if review["ok"]
    }
    return proposals, weights


def revote(rows: list[dict[str, Any]], items: dict[str, BenchItem]) -> dict[str, list[bool]]:
    """For every rule and baseline, whether its round-1 pick was right, item by item."""
    outcomes: dict[str, list[bool]] = {}
    for row in rows:
        item = items[row["item"]]
        proposals, weights = round_one(row)
        right = {p["agent"]: check(item, p["answer"]).correct for p in proposals}
        picks: dict[str, bool] = {"any proposal right (ceiling)": any(right.values())}
        for agent in sorted(right):
            picks[f"{agent} alone"] = right[agent]
        counts = Counter(p["answer"] for p in proposals)
        top = max(counts.values(), default=0)
        leaders = [answer for answer, count in counts.items() if count == top]
        picks["plurality (a tie counts as wrong)"] = len(leaders) == 1 and any(
            right[p["agent"]] for p in proposals if p["answer"] == leaders[0]
        )
        for aggregation, calibration, pooling in itertools.product(
            AGGREGATIONS, CALIBRATIONS, (False, True)
        ):
            result = tally(
                weights,
                [p["agent"] for p in proposals],
                aggregation=aggregation,
                calibration=calibration,
                clusters={p["agent"]: p["answer"] for p in proposals} if pooling else None,
            )
            name = f"vote {aggregation}, calibration {calibration}" + (", pooled" * pooling)
            picks[name] = result.winner is not None and right[result.winner]
        plain = tally(weights, [p["agent"] for p in proposals])
        for weight in REVIEW_WEIGHTS:
            answers = answer_vote(
                {p["agent"]: p["answer"] for p in proposals},
                plain.supports,
                review_weight=weight,
                strength={p["agent"]: strength(p["agent"]) for p in proposals},
                tie_salt=f"{row['details']['record']['task']}\0" + "1",  # as the vote step
            )
            name = f"vote over answers, review_weight {weight:g}"
            picks[name] = answers.winner is not None and right[answers.winner]
        for name, correct in picks.items():
            outcomes.setdefault(name, []).append(correct)
    return outcomes


def strength(agent: str) -> float:
    """An agent's declared strength: the catalogue prior of an embedded model, else 0.5 (the
    ``Agent.prior`` default), as the vote step would read it from the agent."""
    model = CATALOGUE.get(agent)
    return model.prior if model is not None else 0.5


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="an `nsed bench --out` directory")
    parser.add_argument("method", nargs="?", default="nsed", help="an NSED method label")
    parser.add_argument(
        "--dataset",
        action="append",
        help="the dataset name or JSONL path the run was given (repeatable); needed for a "
        "user file, whose rows record only its name",
    )
    args = parser.parse_args(argv)
    journal = args.run_dir / ROWS_FILE
    if not journal.is_file():
        raise SystemExit(f"{journal}: not found; give the directory `nsed bench --out` wrote")
    rows = [
        row
        for row in read_rows(journal).values()
        if row["method"] == args.method and row["details"].get("record")
    ]
    if not rows:
        raise SystemExit(f"{args.run_dir}: no finished `{args.method}` rows with a run record")
    try:
        seed = pinned_settings(read_run(args.run_dir)).nsed.seed
        items = run_items(rows, args.dataset, seed=seed)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    outcomes = revote(rows, items)
    datasets = ", ".join(sorted({row["dataset"] for row in rows}))
    print(f"{args.method} round 1, re-tallied on {len(rows)} items of {datasets}")
    print(f"{'rule or baseline':<48} right")
    for name, correct in outcomes.items():
        print(f"{name:<48} {sum(correct):>2}/{len(correct)} = {sum(correct) / len(correct):.0%}")


if __name__ == "__main__":
    main()
