"""Values computed once per key and kept in the cache, fetched for many keys at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from django.core.cache import cache

V = TypeVar("V")


def cached_each(keys: Sequence[str], make: Callable[[int], V], seconds: int) -> list[V]:
    """The value of each key, in order: one ``get_many``, then ``make(i)`` for the keys the
    cache lacks (``i``: the key's position) and one ``set_many`` for them."""
    found: dict[str, V] = cache.get_many(keys)
    missing: dict[str, V] = {}
    for i, key in enumerate(keys):
        if key not in found:
            found[key] = missing[key] = make(i)
    if missing:
        cache.set_many(missing, seconds)
    return [found[key] for key in keys]
