"""Rows that must leave the desk (a mail, a chat post): how one sender at a time takes a row,
what a failure does to it, and the sweep that sends what is due.

A row is written in the transaction that decided it must go, and a worker is asked to send it
after commit; if that ask is lost, or the sending fails, the sweep finds the row due. A row's
model has the fields ``state`` (pending, sending, sent, failed), ``attempts``,
``next_attempt_at``, ``claimed_until``, ``sent_at`` and ``last_error``. A claim is an UPDATE
that only one sender can win; a claim left by a sender that died expires after
``claim_seconds`` and the row is due again. After a failure the row waits
``retry_base_s · 2^(attempts-1)`` (at most an hour) or, after ``max_attempts``, is failed for
an admin to see.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Model, Q
from django.utils import timezone

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class SendQueue:
    model: type[Model]
    claim_seconds: int
    # Names of settings, read at each use (a deployment or a test may change them).
    retry_base_setting: str
    max_attempts_setting: str
    sweep_interval_setting: str

    def _rows(self) -> Any:
        return self.model._default_manager

    def _due(self, now: datetime) -> Q:
        return Q(state=PENDING, next_attempt_at__lte=now) | Q(state=SENDING, claimed_until__lt=now)

    def due_ids(self, *, now: datetime | None = None, limit: int = 500) -> list[int]:
        """Rows to send now, the longest waiting first: pending and due, or claimed by a
        sender whose claim has expired."""
        due = self._rows().filter(self._due(now or timezone.now())).order_by("next_attempt_at")
        return list(due.values_list("pk", flat=True)[:limit])

    def claim(self, pk: int, now: datetime) -> bool:
        """Take the row for this sender (one attempt more), if it is due. True when taken."""
        taken: int = (
            self._rows()
            .filter(self._due(now), pk=pk)
            .update(
                state=SENDING,
                claimed_until=now + timedelta(seconds=self.claim_seconds),
                attempts=F("attempts") + 1,
            )
        )
        return taken == 1

    def backoff(self, attempts: int) -> timedelta:
        base = getattr(settings, self.retry_base_setting)
        return min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)

    def failed(self, pk: int, attempts: int, error: str, *, final: bool = False) -> None:
        """A claimed row's attempt failed: due again after its backoff, or failed for good
        after the last attempt (or at once when ``final``)."""
        gave_up = final or attempts >= getattr(settings, self.max_attempts_setting)
        self._rows().filter(pk=pk, state=SENDING).update(
            state=FAILED if gave_up else PENDING,
            next_attempt_at=timezone.now() + self.backoff(attempts),
            claimed_until=None,
            last_error=error[:2000],
        )

    def sent(self, pk: int, **fields: Any) -> None:
        """A claimed row went out (``fields``: what else to write with it)."""
        self._rows().filter(pk=pk, state=SENDING).update(
            state=SENT, sent_at=timezone.now(), claimed_until=None, last_error="", **fields
        )

    def send_due(self, send: Callable[[int], bool], *, budget_s: float | None = None) -> int:
        """Send what is due in this process, one row after the other, for at most
        ``budget_s`` (default four sweep intervals; at least one row per sweep, whatever the
        budget). One sweep does the work itself instead of queueing a task per row: a sweep
        every few seconds during an outage would otherwise queue the same rows again and
        again. Returns how many ``send`` took."""
        interval = getattr(settings, self.sweep_interval_setting)
        budget = interval * 4 if budget_s is None else budget_s
        started = time.monotonic()
        sent = 0
        while due := self.due_ids(limit=100):
            # A row that fails waits for its backoff, so it is not due again in this loop.
            for pk in due:
                sent += send(pk)
                if time.monotonic() - started > budget:
                    return sent
        return sent
