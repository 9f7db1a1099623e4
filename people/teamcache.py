"""Lists that every ticket page of a team shows beside the ticket and that change rarely (who
may own a ticket, the canned answers, the escalation targets), kept a minute in the cache.

For display only: whatever decides something (an assignment, an escalation) reads the
database. The code that edits these lists forgets them at once; a change made elsewhere (the
admin site) shows within ``SECONDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

T = TypeVar("T")

SECONDS = 60
VERSION = 1  # bump when what a list holds changes shape


def _key(team_id: int, name: str) -> str:
    return f"team-list:{VERSION}:{team_id}:{name}"


def team_cached(team_id: int, name: str, load: Callable[[], list[T]]) -> list[T]:
    """The team's list ``name``, from the cache or else from ``load()``."""
    key = _key(team_id, name)
    value: list[T] | None = cache.get(key)
    if value is None:
        value = load()
        cache.set(key, value, SECONDS)
    return value


def team_cache_forget(team_id: int, *names: str) -> None:
    cache.delete_many([_key(team_id, name) for name in names])
