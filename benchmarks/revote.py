"""Would another vote rule have picked better from the same round-1 proposals and reviews?

Run ``python benchmarks/revote.py benchmarks/results/gsm8k-30`` on a finished or unfinished
``nsed bench`` run. NSED's round 1 is the one round whose inputs do not depend on the vote rule
(from round 2 on, proposers read the previous winner), so its recorded proposals and review
weights can be tallied again under every aggregation, calibration and pooling rule, and as a
vote over answers (``vote_unit="answers"``) at several ``review_weight`` values, without
calling a model. This separates two questions a lost benchmark raises: could the reviewers'
weights have found the right proposal at all (some rule picks it), or did this rule miss it?

Reviewer reliability (``reviewer_weighting="reliability"``) is left out: in round 1 it has no
history yet, so every reviewer weighs the same and the result equals the plain rule. Reviewer
worth (``reviewer_weighting="worth"``, ``protocol.worth``) is learned from known answers, so it
can be re-tallied here: a reviewer's round-1 outcomes on the run's *other* items
(leave-one-out), or on the items recorded *before* this one (what a deployment that persists
telemetry would have had), give its worth under the config's prior, which multiplies its votes
before the vote over answers. Only round-1 reviews are counted; a live run also learns from its
later rounds. A table follows the rows: per reviewer, on all items, the right candidates it
endorsed and the wrong ones it rejected, the plain share of right signs, the balanced accuracy
(the mean of the two rates, 50% at chance) and the worth. The printed "any proposal right" row
is the ceiling that no vote over these proposals can pass; "plurality" and the agents alone are
the baselines read from the same proposals.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

# Runs from a checkout too, without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nsed_graph.bench.checkers import check
from nsed_graph.bench.datasets import BenchItem
from nsed_graph.bench.rescore import run_items
from nsed_graph.bench.runner import ROWS_FILE, pinned_settings, read_rows, read_run
from nsed_graph.config import Aggregation, Calibration, NSEDConfig
from nsed_graph.local.catalogue import CATALOGUE
from nsed_graph.protocol.evidence import answer_vote
from nsed_graph.protocol.voting import tally
from nsed_graph.protocol.worth import (
    Outcome,
    add_outcomes,
    observed_accuracy,
    reviewer_worth,
    score_outcomes,
)

AGGREGATIONS: tuple[Aggregation, ...] = ("quadratic", "linear", "majority")
CALIBRATIONS: tuple[Calibration, ...] = ("none", "center", "zscore")
REVIEW_WEIGHTS = (0.0, 0.5, 1.0)
WORTH_REVIEW_WEIGHTS = (0.5, 1.0, 2.0)


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


class Table(NamedTuple):
    """Round 1 of one recorded item, ready to be re-tallied (a NamedTuple, not a dataclass: the
    tests load this script by path, outside ``sys.modules``)."""

    proposals: list[dict[str, Any]]
    weights: dict[str, dict[str, float]]
    right: dict[str, bool]
    """Whether each usable proposal's answer is correct, by the item's checker."""
    salt: str

    @property
    def candidates(self) -> list[str]:
        return [p["agent"] for p in self.proposals]

    @property
    def clusters(self) -> dict[str, str]:
        return {p["agent"]: p["answer"] for p in self.proposals}

    def outcomes(self) -> dict[str, Outcome]:
        """Each reviewer's ``Outcome`` on this table against the known answer; a score of a
        reviewer's own proposal is not counted (the vote leaves it out too)."""
        scored = {r: {j: w for j, w in row.items() if j != r} for r, row in self.weights.items()}
        return score_outcomes(scored, self.right)

    def answers_right(
        self, review_weight: float, reliability: Mapping[str, float] | None = None
    ) -> bool:
        """Whether the vote over answers at ``review_weight`` picks a right proposal, each
        reviewer's quadratic votes multiplied by its ``reliability`` (its worth) if given."""
        result = tally(self.weights, self.candidates, reliability=reliability)
        answers = answer_vote(
            self.clusters,
            result.supports,
            review_weight=review_weight,
            strength={agent: strength(agent) for agent in self.candidates},
            tie_salt=self.salt,
        )
        return answers.winner is not None and self.right[answers.winner]


def tables(rows: list[dict[str, Any]], items: dict[str, BenchItem]) -> list[Table]:
    """Round 1 of every row, in the order given (the journal's)."""
    found = []
    for row in rows:
        item = items[row["item"]]
        proposals, weights = round_one(row)
        right = {p["agent"]: check(item, p["answer"]).correct for p in proposals}
        salt = f"{row['details']['record']['task']}\0" + "1"  # as the vote step
        found.append(Table(proposals, weights, right, salt))
    return found


def revote(rows: list[dict[str, Any]], items: dict[str, BenchItem]) -> dict[str, list[bool]]:
    """For every rule and baseline, whether its round-1 pick was right, item by item."""
    outcomes: dict[str, list[bool]] = {}
    for table in tables(rows, items):
        proposals, weights, right = table.proposals, table.weights, table.right
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
                table.candidates,
                aggregation=aggregation,
                calibration=calibration,
                clusters=table.clusters if pooling else None,
            )
            name = f"vote {aggregation}, calibration {calibration}" + (", pooled" * pooling)
            picks[name] = result.winner is not None and right[result.winner]
        for weight in REVIEW_WEIGHTS:
            picks[f"vote over answers, review_weight {weight:g}"] = table.answers_right(weight)
        for name, correct in picks.items():
            outcomes.setdefault(name, []).append(correct)
    return outcomes


def worths(table: Table, learned: Mapping[str, Outcome], config: NSEDConfig) -> dict[str, float]:
    """The worth of each of the table's reviewers from its ``learned`` outcomes under the
    config's prior; a reviewer without history gets the prior's worth, as in the vote step."""
    return {
        reviewer: reviewer_worth(
            learned.get(reviewer, (0, 0, 0, 0)),
            prior_accuracy=config.worth_prior_accuracy,
            prior_strength=config.worth_prior_strength,
        )
        for reviewer in sorted(table.weights)
    }


def revote_worth(
    rows: list[dict[str, Any]],
    items: dict[str, BenchItem],
    config: NSEDConfig | None = None,
) -> dict[str, list[bool]]:
    """The vote over answers with reviewer worth learned from the round-1 reviews of the run's
    other items (leave-one-out) or of its earlier items, item by item."""
    config = config or NSEDConfig()
    found = tables(rows, items)
    scored = [table.outcomes() for table in found]
    outcomes: dict[str, list[bool]] = {}
    for i, table in enumerate(found):
        others = add_outcomes(scored[:i] + scored[i + 1 :])
        earlier = add_outcomes(scored[:i])
        for weight in WORTH_REVIEW_WEIGHTS:
            for learned, how in ((others, "leave-one-out"), (earlier, "from earlier items")):
                name = f"vote over answers, review_weight {weight:g}, worth {how}"
                correct = table.answers_right(weight, worths(table, learned, config))
                outcomes.setdefault(name, []).append(correct)
    return outcomes


def reviewer_outcomes(
    rows: list[dict[str, Any]], items: dict[str, BenchItem]
) -> dict[str, Outcome]:
    """Each reviewer's round-1 outcomes over all the rows."""
    return add_outcomes(table.outcomes() for table in tables(rows, items))


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
    config = NSEDConfig()
    outcomes = revote(rows, items) | revote_worth(rows, items, config)
    datasets = ", ".join(sorted({row["dataset"] for row in rows}))
    print(f"{args.method} round 1, re-tallied on {len(rows)} items of {datasets}")
    width = max(48, *(len(name) for name in outcomes))
    print(f"{'rule or baseline':<{width}} right")
    for name, correct in outcomes.items():
        share = f"{sum(correct):>2}/{len(correct)} = {sum(correct) / len(correct):.0%}"
        print(f"{name:<{width}} {share}")
    print()
    print(
        f"reviewers' round-1 scores against the known answers (worth on all items, prior "
        f"accuracy {config.worth_prior_accuracy:g}, strength {config.worth_prior_strength:g})"
    )
    learned = reviewer_outcomes(rows, items)
    width = max(24, *(len(reviewer) for reviewer in learned)) if learned else 24
    print(
        f"{'reviewer':<{width}} {'right +':>7} {'wrong -':>7} {'signs':>6} {'balanced':>8} "
        f"{'worth':>6}"
    )
    for reviewer, outcome in sorted(learned.items()):
        endorsed, seen_right, rejected, seen_wrong = outcome
        signs = _share(endorsed + rejected, seen_right + seen_wrong)
        observed = observed_accuracy(outcome)
        balanced = "-" if observed is None else f"{observed:.0%}"
        worth = reviewer_worth(
            outcome,
            prior_accuracy=config.worth_prior_accuracy,
            prior_strength=config.worth_prior_strength,
        )
        print(
            f"{reviewer:<{width}} {endorsed:>3}/{seen_right:<3} {rejected:>3}/{seen_wrong:<3} "
            f"{signs:>6} {balanced:>8} {worth:>6.2f}"
        )


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


if __name__ == "__main__":
    main()
