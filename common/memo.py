"""Values computed once per key for the length of one unit of work (a sweep), then
forgotten."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

V = TypeVar("V")

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
