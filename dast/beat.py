"""A beat schedule of our own: one tick waiting at most, for sweeps that can run long."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from celery.schedules import schedstate, schedule

log = logging.getLogger(__name__)


class OnePending(schedule):
    """Every ``run_every``, as Celery's ``schedule``, but only while no tick of it waits in
    the queue: sending one sets ``marker`` in the cache for ``hold`` seconds at most, and
    the task clears it when it starts (as the events sweep does for its nudge). A worker
    busy with a long sweep finds one tick waiting when it is done, not one per interval it
    was busy; a tick that expired unrun holds the next one up for ``hold`` at most. When
    the cache cannot be asked, the tick is sent."""

    def __init__(
        self, run_every: float | timedelta, marker: str = "", hold: float = 0, **kwargs: Any
    ) -> None:
        super().__init__(run_every, **kwargs)
        self.marker, self.hold = marker, hold

    def is_due(self, last_run_at: datetime) -> schedstate:
        state = super().is_due(last_run_at)
        if state.is_due and not _mark(self.marker, self.hold):
            return schedstate(False, state.next)  # one waits already: look again later
        return state

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__class__, (self.run_every, self.marker, self.hold)


def _mark(marker: str, hold: float) -> bool:
    """Set the marker unless it is set; True when set now (or the cache is out of reach)."""
    from django.core.cache import cache

    try:
        return bool(cache.add(marker, 1, timeout=hold))
    except Exception:
        log.exception("could not ask the cache whether a tick waits; sending it")
        return True
