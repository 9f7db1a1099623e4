"""Archive import: past mail into tickets, with its own dates and threads, and no replies.

Uses the same store/parse/thread steps as live intake. Each message is stored raw first, so
an interrupted import run again skips what it already has (by Message-ID, or by content for
mail without one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from django.db import transaction

from tickets.models import Team
from tickets.models.mail import RawSource
from tickets.services.intake import raw_process, raw_store

OUTCOME_KEYS = ("imported", "joined", "new_tickets", "duplicates", "rejected", "failed")
_COUNT_AS = {
    "new_ticket": "new_tickets",
    "follow_up": "new_tickets",
    "joined": "joined",
    "reopened": "joined",
    "attached": "joined",
    "ignored": "rejected",
    "failed": "failed",
}


def archive_import(
    *,
    team: Team,
    messages: Iterable[tuple[str, bytes]],
    batch: int = 200,
    progress: Callable[[Counter[str]], None] | None = None,
) -> Counter[str]:
    """Import (origin, raw) pairs; returns the counts of the summary line."""
    counts: Counter[str] = Counter({key: 0 for key in OUTCOME_KEYS})
    pending: list[tuple[str, bytes]] = []

    def flush() -> None:
        # One transaction per batch: a commit per message would cap the rate at the disk's
        # fsync rate. Each message still has its own savepoint inside.
        with transaction.atomic():
            for origin, raw in pending:
                stored = raw_store(team=team, raw=raw, source=RawSource.IMPORT, origin=origin)
                if stored is None:
                    counts["duplicates"] += 1
                    continue
                counts["imported"] += 1
                with transaction.atomic():
                    outcome = raw_process(stored, received_at=None, announce=False).outcome
                counts[_COUNT_AS.get(outcome, "rejected")] += 1
        pending.clear()
        if progress:
            progress(counts)

    for item in messages:
        pending.append(item)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return counts
