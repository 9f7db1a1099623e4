"""Values computed once per key: kept in the cache and fetched for many keys at once, or
kept for the length of one unit of work (a sweep) and then forgotten."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

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


_SCOPE: ContextVar[dict[Hashable, Any] | None] = ContextVar("scoped_memo", default=None)


@contextlib.contextmanager
def memo_scope() -> Iterator[None]:
    """Within the block, ``scoped(key, make)`` computes each key once: a sweep's steps read
    the shift calendar and a team's sending address once, not once a step. Outside any
    block nothing is kept, so a request never sees another's values."""
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def scoped(key: Hashable, make: Callable[[], V]) -> V:
    store = _SCOPE.get()
    if store is None:
        return make()
    if key not in store:
        store[key] = make()
    return store[key]
