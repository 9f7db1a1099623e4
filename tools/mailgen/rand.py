"""Drawing from sequences with a given Random, faster than Random.choice and always typed."""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import TypeVar

T = TypeVar("T")


def pick(rng: Random, seq: Sequence[T]) -> T:
    # int(random() * n) costs a third of Random.choice and draws the same way on every platform.
    return seq[int(rng.random() * len(seq))]


def weighted(rng: Random, items: Sequence[tuple[T, float]]) -> T:
    """One item of (item, weight) pairs, with probability proportional to its weight."""
    x = rng.random() * sum(w for _, w in items)
    for item, weight in items:
        x -= weight
        if x < 0:
            return item
    return items[-1][0]
