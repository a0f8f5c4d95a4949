"""Estimates from few observations, shared by the vote and the broker.

Bayesian shrinkage toward a prior lets a new agent be neither ignored nor trusted blindly: the
prior counts as ``strength`` observations of the same kind, so evidence outweighs it only once
there is enough of it (docs/protocol.md, "1. Broker" and "4. Vote").
"""

from __future__ import annotations


def shrink(prior: float, strength: float, observed: float, count: float) -> float:
    """Bayesian shrinkage: the prior is worth ``strength`` observations of the same kind."""
    if strength + count == 0:
        return prior
    return (strength * prior + count * observed) / (strength + count)
