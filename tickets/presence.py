"""Who is writing on a ticket right now ("Anna is replying"), kept in the cache only: a
convenience that may be lost, never a lock. Each person's mark says until when it holds
(``PRESENCE_TTL_S`` after their last keystroke or focus in the reply box); the ticket page
asks every ``PRESENCE_POLL_S`` seconds. One cache key per ticket, holding
{user id: [name, until]}: a mark lost to two writers at once comes back with the next
keystroke."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.utils import timezone

from people.names import display_name


def _key(ticket_pk: int) -> str:
    return f"presence:ticket:{ticket_pk}"


def _current(ticket_pk: int, now: datetime) -> dict[str, list]:
    held = cache.get(_key(ticket_pk)) or {}
    return {uid: mark for uid, mark in held.items() if mark[1] > now.timestamp()}


def presence_note(*, ticket_pk: int, user: User, now: datetime | None = None) -> None:
    """``user`` is writing on the ticket."""
    now = now or timezone.now()
    marks = _current(ticket_pk, now)
    marks[str(user.pk)] = [display_name(user), now.timestamp() + settings.PRESENCE_TTL_S]
    cache.set(_key(ticket_pk), marks, timeout=settings.PRESENCE_TTL_S + 5)


def presence_clear(*, ticket_pk: int, user: User, now: datetime | None = None) -> None:
    """``user`` sent what they wrote (or left)."""
    marks = _current(ticket_pk, now or timezone.now())
    if marks.pop(str(user.pk), None) is not None:
        cache.set(_key(ticket_pk), marks, timeout=settings.PRESENCE_TTL_S + 5)


def writing_now(*, ticket_pk: int, viewer: User, now: datetime | None = None) -> list[str]:
    """The names of the others writing on the ticket now."""
    marks = _current(ticket_pk, now or timezone.now())
    return sorted(name for uid, (name, _) in marks.items() if uid != str(viewer.pk))
