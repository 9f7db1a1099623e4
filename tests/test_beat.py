"""The events sweep's beat entry: a tick that waited longer than an interval is dropped
unrun (Celery's ``expires``), and no second tick is sent while one waits, however long a
sweep works a backlog off."""

from __future__ import annotations

import pickle
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache

from dast.beat import OnePending
from tickets.tasks import events_nudge_task, events_sweep_task

pytestmark = pytest.mark.django_db


def _entry() -> dict:
    return settings.CELERY_BEAT_SCHEDULE["events"]


def _due(schedule: OnePending) -> bool:
    return schedule.is_due(schedule.now() - timedelta(hours=1)).is_due


def test_a_sweep_tick_expires_after_one_interval():
    assert _entry()["options"]["expires"] == settings.EVENT_SWEEP_INTERVAL_S
    assert _entry()["schedule"].run_every == timedelta(seconds=settings.EVENT_SWEEP_INTERVAL_S)


def test_no_second_tick_is_sent_while_one_waits_and_the_sweep_lets_the_next_go():
    schedule = _entry()["schedule"]
    assert _due(schedule)  # sent
    assert not _due(schedule)  # the worker is busy: it waits, no second one
    assert not _due(schedule)
    events_sweep_task()  # starts: the next may go
    assert _due(schedule)


def test_a_waiting_tick_holds_up_the_nudge_too(monkeypatch):
    asked = []
    monkeypatch.setattr(events_sweep_task, "delay", lambda: asked.append(1))
    assert _due(_entry()["schedule"])
    events_nudge_task()
    assert asked == []
    cache.delete(settings.EVENT_SWEEP_MARKER)  # the tick expired unrun; its mark too
    events_nudge_task()
    assert asked == [1]


def test_without_the_cache_the_tick_is_sent(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "add", broken)
    schedule = _entry()["schedule"]
    assert _due(schedule)
    assert _due(schedule)


def test_the_schedule_survives_beats_schedule_file():
    schedule = pickle.loads(pickle.dumps(_entry()["schedule"]))  # noqa: S301 (our own bytes)
    assert isinstance(schedule, OnePending)
    assert (schedule.marker, schedule.hold) == (
        settings.EVENT_SWEEP_MARKER,
        settings.EVENT_SWEEP_INTERVAL_S * 2,
    )
    assert schedule.run_every == timedelta(seconds=settings.EVENT_SWEEP_INTERVAL_S)
