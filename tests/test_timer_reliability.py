"""Escalation timers run every step exactly once under failures, on real processes: a Celery
worker and beat, Redis, PostgreSQL and an SMTP sink. A worker killed with SIGKILL in the middle
of a sweep, a second beat by mistake, Redis flushed and restarted, PostgreSQL crashing, SMTP
down: no step runs twice, none is lost, and the sink gets each mail once.

The PostgreSQL and the Redis are the module's own (each test gets a database cloned from a
migrated template, and a Redis), so that a test may crash or flush them without harm to the
rest of the suite. The timers are armed by a child process (``tests/timerproc.py``) through the
desk's services; what happened is read back with plain SQL.
"""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from escalation.businesstime import WorkingHours, add_business_time
from tests.mailservers import SmtpSink
from tests.procs import wait_for
from tests.timerproc import (
    Desk,
    Plan,
    Postgres,
    Redis,
    Snapshot,
    duplicate_message_ids,
    in_the_middle_of_a_step,
    mails_by_ticket,
    pool_processes,
    runs_so_far,
    task_in_hand,
    wait_ready,
)

# Workers and beat are processes of their own, on the real clock.
pytestmark = [pytest.mark.servers, pytest.mark.processes]


@pytest.fixture
def desk(postgres: Postgres, broker: Redis, smtp_sink: SmtpSink, tmp_path: Path) -> Desk:
    db_url = postgres.create_database(f"timers_{uuid.uuid4().hex[:12]}")
    return Desk(db_url=db_url, broker_url=broker.url, sink=smtp_sink, folder=tmp_path)


def wait_until(instant: datetime) -> None:
    wait_for(lambda: datetime.now(UTC) > instant, timeout=60, what=f"{instant:%H:%M:%S}")


def assert_every_step_ran_once_and_every_mail_went_once(
    desk: Desk, plans: list[Plan], snap: Snapshot
) -> None:
    # One TimerRun per (timer, step) that was due, and nothing else: none twice, none lost.
    assert snap.runs == Counter({(p.timer, step): 1 for p in plans for step in p.steps})
    assert {p.timer: snap.timers[p.timer].state for p in plans if p.steps} == {
        p.timer: "done" for p in plans if p.steps
    }
    planned_mails = Counter({p.ref: p.mails for p in plans})
    # A step that ran twice would have written a second outbox row ...
    assert snap.outbox_by_ticket() == planned_mails
    assert snap.unsent() == []
    # ... and the sink would have it; a row sent twice would repeat a Message-ID.
    assert mails_by_ticket(desk.sink) == planned_mails
    assert duplicate_message_ids(desk.sink) == []


def test_a_second_beat_process_running_by_mistake_runs_no_step_twice(desk):
    with (
        desk.worker(concurrency=2) as worker,
        desk.beat("beat-1") as one,
        desk.beat("beat-2") as two,
    ):
        plans = desk.build(due_in=2, first_response=10, waiting_user=10, expert_silent=10)
        wait_ready(worker, one, two)
        snap = desk.wait_until_done(plans)
        # The steps may be done before five ticks (a fast sweep): keep both beats sending
        # sweeps side by side until they have, then look again that nothing ran twice.
        for beat in (one, two):
            wait_for(
                lambda beat=beat: beat.log.read_text().count("Sending due task timers") >= 5,
                timeout=60,
                what="five sweeps sent by each beat",
            )
        snap = desk.wait_until_done(plans)
    # Both beats were sending sweeps the whole time (so sweeps ran side by side).
    assert one.log.read_text().count("Sending due task timers") >= 5
    assert two.log.read_text().count("Sending due task timers") >= 5
    assert_every_step_ran_once_and_every_mail_went_once(desk, plans, snap)


@pytest.mark.parametrize("victim", ["pool process", "whole worker"])
def test_a_worker_killed_with_sigkill_in_the_middle_of_a_sweep_loses_no_step_and_repeats_none(
    desk, postgres, victim
):
    aborted_before = postgres.aborted_by_the_client()
    with desk.beat() as beat:
        with desk.worker("worker-1") as first:
            plans = desk.build(due_in=2, first_response=12, waiting_user=12, expert_silent=12)
            wait_ready(first, beat)
            desk.wait_for_runs(3)  # the sweep has committed some steps; more are to come
            if victim == "pool process":
                (pool,) = pool_processes(first.process)
                in_the_middle_of_a_step(desk.db_url, lambda: os.kill(pool, signal.SIGKILL))
            else:
                # The worker's own session: its main process and its pool.
                in_the_middle_of_a_step(
                    desk.db_url, lambda: os.killpg(first.process.pid, signal.SIGKILL)
                )
                first.process.wait(10)
            killed_after = runs_so_far(desk.db_url)
            assert killed_after < sum(len(p.steps) for p in plans), "the sweep was over"
            # The steps in hand died with their transaction open: PostgreSQL rolled back.
            wait_for(
                lambda: postgres.aborted_by_the_client() > aborted_before,
                timeout=30,
                what="PostgreSQL to log the open transaction of the killed process",
            )
            if victim == "pool process":
                wait_for(
                    lambda: "signal 9 (SIGKILL)" in first.log.read_text(),
                    timeout=30,
                    what="the worker noticing the kill",
                    log=first.log,
                )
            # What the killed process had in hand: a sweep, unfinished.
            before_kill = first.log.read_text().split("signal 9 (SIGKILL)")[0]
            assert task_in_hand(before_kill) == ("escalation.tasks.timer_sweep_task", False)
            if victim == "pool process":  # the worker goes on with a new pool process
                snap = desk.wait_until_done(plans)
        if victim == "whole worker":
            with desk.worker("worker-2") as second:
                second.wait_ready()
                snap = desk.wait_until_done(plans)
    assert killed_after > 0
    assert_every_step_ran_once_and_every_mail_went_once(desk, plans, snap)


def test_redis_flushed_mid_sweep_and_then_restarted_loses_no_step_and_repeats_none(desk, broker):
    with desk.worker() as worker, desk.beat() as beat:
        first = desk.build(due_in=2, first_response=8, waiting_user=8, expert_silent=8)
        wait_ready(worker, beat)
        # Queued sends, queued sweeps, the worker's unacknowledged messages: all gone.
        broker.flush_when_sends_queued()
        assert 0 < runs_so_far(desk.db_url) < sum(len(p.steps) for p in first)
        desk.wait_until_done(first)
        with broker.stopped():
            # Armed, and due while Redis is down: no sweep reaches the worker now.
            second = desk.build(due_in=1, first_response=4, waiting_user=4, expert_silent=4)
            wait_until(max(p.due_at for p in second) + timedelta(seconds=1))
            assert runs_so_far(desk.db_url) == sum(len(p.steps) for p in first)
        back_at = datetime.now(UTC)
        snap = desk.wait_until_done(first + second)
    assert_every_step_ran_once_and_every_mail_went_once(desk, first + second, snap)
    # What came due during the outage ran once Redis was back.
    assert min(snap.ran_at[p.timer, 0] for p in second) > back_at


def test_postgresql_crashing_mid_sweep_loses_no_step_and_runs_what_came_due_while_down(
    desk, postgres
):
    with desk.worker() as worker, desk.beat() as beat:
        # The second batch comes due while the database is down, the first just before.
        second = desk.build(due_in=10, first_response=5, waiting_user=5, expert_silent=5)
        first = desk.build(due_in=1, first_response=10, waiting_user=10, expert_silent=10)
        wait_ready(worker, beat)
        desk.wait_for_runs(3)
        with postgres.outage():
            in_the_middle_of_a_step(desk.db_url, postgres.crash)
            crashed_at = datetime.now(UTC)
            assert crashed_at < min(p.due_at for p in second), "the machine is too slow"
            wait_until(max(p.due_at for p in second) + timedelta(seconds=1))
        back_at = datetime.now(UTC)
        snap = desk.wait_until_done(first + second)
    # The sweep in hand when the database went was cut short: the steps it had not
    # committed failed (rolled back), and ran once later.
    assert re.search(r"timer \d+ failed", worker.log.read_text())
    assert_every_step_ran_once_and_every_mail_went_once(desk, first + second, snap)
    assert min(snap.ran_at[p.timer, 0] for p in second) > back_at


def after_working_hours(start: datetime, hours: float) -> datetime:
    """The team's working hours (the builder's team is in Geneva and has no closures)."""
    tz = ZoneInfo("Europe/Zurich")
    calendar = WorkingHours(
        tz, settings.WORKDAY_START, timedelta(hours=settings.WORKDAY_HOURS), frozenset(range(1, 6))
    )
    return add_business_time(start, timedelta(hours=hours), calendar, tz)


def test_while_smtp_is_down_mail_waits_in_the_outbox_and_the_group_is_not_yet_silent(desk):
    desk.sink.stop()
    with desk.worker() as worker, desk.beat() as beat:
        plans = desk.build(
            due_in=2, first_response=2, waiting_user=2, expert_silent=2, expert_new=2
        )
        wait_ready(worker, beat)
        fresh = [p for p in plans if not p.steps]  # escalated now: the mail must go first
        due = [p for p in plans if p.steps]

        def looked_at_twice_while_unsent() -> Snapshot | None:
            snap = desk.snapshot()
            if snap.steps_run(due) != {p.timer: p.steps for p in due}:
                return None
            if any(not row.last_error for row in snap.outbox):
                return None  # not tried yet
            if all(snap.timers[p.timer].version >= 2 for p in fresh):
                return snap
            return None

        down = wait_for(looked_at_twice_while_unsent, timeout=60, what="the steps while down")
        assert isinstance(down, Snapshot)
        # The due steps ran: their mails, and the escalation mails, wait in the outbox.
        assert down.outbox_by_ticket() == Counter({p.ref: p.mails for p in plans})
        assert not any(row.state == "sent" for row in down.outbox)
        assert all("Connection refused" in row.last_error for row in down.outbox)
        # Escalated groups are not silent while they have not been mailed: the response
        # timers looked, ran no step, and only looked again later.
        for p in fresh:
            timer = down.timers[p.timer]
            assert (timer.state, timer.step) == ("armed", 0)
        assert not any(timer in {p.timer for p in fresh} for timer, _ in down.runs)

        desk.sink.start()
        back_at = datetime.now(UTC)
        desk.wait_until_done(plans)

        def clock_started_when_mailed() -> bool:
            snap = desk.snapshot()
            sent = {row.ref: row.sent_at for row in snap.outbox}
            return all(snap.timers[p.timer].due_at > sent[p.ref] for p in fresh)

        wait_for(clock_started_when_mailed, timeout=30, what="the response timers re-armed")
        time.sleep(2)  # more looks at them, which must change nothing
        snap = desk.snapshot()
    assert_every_step_ran_once_and_every_mail_went_once(desk, plans, snap)
    sent_at = {row.ref: row.sent_at for row in snap.outbox}
    for p in fresh:
        assert sent_at[p.ref] > back_at
        # The reminder is due the group's target (8 working hours) after the mail went out.
        timer = snap.timers[p.timer]
        assert (timer.state, timer.step) == ("armed", 0)
        assert timer.due_at == after_working_hours(sent_at[p.ref], 8)
    assert not any(timer in {p.timer for p in fresh} for timer, _ in snap.runs)
