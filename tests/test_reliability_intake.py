"""Intake keeps its promises under failures, on real processes (issue #12): the fetcher
(``manage.py fetch_mail``) reading a real Dovecot, Celery workers on their own queues and
beat on a real Redis, a PostgreSQL of the tests' own (fsync on) and an SMTP sink.

- The fetcher SIGKILLed right after it committed a batch, and the events worker in the middle
  of one: after both restart, every ticket is routed, acknowledged once and timed.
- PostgreSQL crashing (immediate shutdown) and starting again during intake: the same
  fetcher and workers go on by themselves within a minute; /healthz answers 503 meanwhile.
- SMTP down with 1,000 acknowledgements pending: the broker's queues stay short, the timer
  steps that come due run on time, and every mail goes out once when SMTP is back.

(A second fetcher, and one restarted after a kill, are ``tests/test_fetch_imap.py``'s.)

Every wait is on a condition with a generous deadline; the only times asserted are the
issue's own targets.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from tests.intakeproc import IntakeDesk, IntakeState, in_the_middle_of_a_batch, queued_tasks
from tests.mailservers import SmtpSink
from tests.procs import wait_for
from tests.timerproc import (
    Postgres,
    Redis,
    _rows,
    duplicate_message_ids,
    mails_by_ticket,
    wait_ready,
)

# Workers, beat, the fetcher and gunicorn are processes of their own, on the real clock.
pytestmark = [pytest.mark.servers, pytest.mark.processes]

SETTLE_S = 120  # a guard against a hung desk, not a speed budget
# Issue #12's targets: a timer step runs at most 30 s late; a sweep never queues what is
# already queued, so a queue holds at most a few ticks of beat and a few nudges.
TIMER_LAG_MAX_S = 30
QUEUED_AT_MOST = 5


@pytest.fixture
def desk(
    postgres: Postgres, broker: Redis, smtp_sink: SmtpSink, imap_mailbox, tmp_path: Path
) -> IntakeDesk:
    db_url = postgres.create_database(f"intake_{uuid.uuid4().hex[:12]}")
    desk = IntakeDesk(
        imap=imap_mailbox, db_url=db_url, broker_url=broker.url, sink=smtp_sink, folder=tmp_path
    )
    desk.set_up()
    return desk


def poll(condition, *, what: str, timeout: float = SETTLE_S) -> None:
    """Like ``wait_for``, but looking every few milliseconds: to strike right after a commit."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def count(db_url: str, table: str) -> int:
    return int(_rows(db_url, f"SELECT count(*) FROM {table}")[0][0])  # noqa: S608


def wait_until(instant: datetime) -> None:
    wait_for(lambda: datetime.now(UTC) > instant, timeout=SETTLE_S, what=f"{instant:%X}")


def wait_settled(desk: IntakeDesk, mails: int, *, what: str) -> IntakeState:
    """Until every mail is filed, every reaction done and every acknowledgement received by
    the sink; then a few more sweeps, in which nothing may change."""

    def settled() -> IntakeState | None:
        state = desk.state()
        sent = len(desk.sink.messages) >= mails and not desk.snapshot().unsent()
        return state if state.settled(mails) and sent else None

    wait_for(settled, timeout=SETTLE_S, what=what)
    time.sleep(3)  # sweeps of events and outbox: a late duplicate would show
    return desk.state()


def assert_every_ticket_routed_acknowledged_once_and_timed(
    desk: IntakeDesk, state: IntakeState, mails: int
) -> None:
    assert state.raws == Counter({"processed": mails})
    assert len(state.tickets) == mails
    assert [t.ref for t in state.tickets if not t.routed] == []
    assert [t.ref for t in state.tickets if t.acks != 1] == []
    assert [t.ref for t in state.tickets if t.first_answer_timers != 1] == []
    assert state.deliveries.keys() == {"done"}
    # The sink got one acknowledgement per ticket, none twice (the requesters are userN@;
    # the shifter on duty is also told of each new ticket, by mail of their own).
    assert mails_by_ticket(desk.sink, "user") == Counter({t.ref: 1 for t in state.tickets})
    assert duplicate_message_ids(desk.sink) == []


def test_a_fetcher_killed_after_a_batch_and_an_events_worker_killed_mid_batch_lose_no_reaction(
    desk, postgres
):
    mails = 800  # more than one of the fetcher's batches (500)
    desk.mail(mails)
    aborted_before = postgres.aborted_by_the_client()
    with desk.worker("others", concurrency=2, queues="celery,outbox,timers") as others:
        with desk.beat() as beat, desk.worker("events", concurrency=2, queues="events") as events:
            wait_ready(others, beat, events)
            with desk.fetcher("fetcher-1") as fetcher:
                # Right after the fetcher's first batch is filed (committed with its events),
                # while it fetches the next: its nudge to the events worker may be lost too.
                poll(lambda: count(desk.db_url, "tickets_ticket"), what="the first batch filed")
                os.killpg(fetcher.process.pid, signal.SIGKILL)
                fetcher.process.wait(10)
            # The events worker, in the middle of a batch of deliveries.
            poll(
                lambda: in_the_middle_of_a_batch(desk.db_url, "events"),
                what="the events worker in the middle of a batch",
            )
            os.killpg(events.process.pid, signal.SIGKILL)
            events.process.wait(10)
            killed = desk.state()
            # The batch in hand died with its transaction open: PostgreSQL rolled it back.
            wait_for(
                lambda: postgres.aborted_by_the_client() > aborted_before,
                timeout=30,
                what="PostgreSQL to log the open transaction of the killed worker",
            )
        assert killed.stored < mails, "the fetcher stored every mail before it was killed"
        assert killed.deliveries["pending"] > 0, "nothing was left to react to"
        # Both start again (beat too, as after a host reboot).
        with (
            desk.beat("beat-2") as beat,
            desk.worker("events-2", concurrency=2, queues="events") as events,
            desk.fetcher("fetcher-2") as fetcher,
        ):
            wait_ready(beat, events, fetcher)
            state = wait_settled(desk, mails, what=f"{mails} mails filed, routed, acknowledged")
    assert_every_ticket_routed_acknowledged_once_and_timed(desk, state, mails)


def test_postgresql_crashing_during_intake_is_503_on_healthz_and_intake_resumes_by_itself(
    desk, postgres
):
    before, during = 550, 30
    desk.mail(before)
    with (
        desk.worker(concurrency=2) as worker,
        desk.beat() as beat,
        desk.web() as web,
        desk.fetcher() as fetcher,
    ):
        wait_ready(worker, beat, web.proc, fetcher)
        wait_for(lambda: web.healthz()[0] == 200, timeout=SETTLE_S, what="/healthz 200")
        poll(lambda: count(desk.db_url, "tickets_ticket"), what="intake under way")
        with postgres.outage():
            # What `pg_ctl stop -m immediate` does: SIGQUIT to the postmaster, no checkpoint.
            postgres.crash()
            desk.mail(during)  # mail keeps coming while the database is down
            down_since = time.monotonic()
            answers = []
            while time.monotonic() - down_since < 10:
                answers.append(web.healthz())
                time.sleep(1)
        back_at = time.monotonic()
        stored_at_restart = count(desk.db_url, "tickets_rawmessage")
        assert stored_at_restart < before + during  # what came during the outage is not in
        # The same processes go on: nothing restarted them.
        wait_for(
            lambda: count(desk.db_url, "tickets_rawmessage") > stored_at_restart,
            timeout=SETTLE_S,
            what="the fetcher storing mail again",
            log=fetcher.log,
            process=fetcher.process,
        )
        resumed_after = time.monotonic() - back_at
        wait_for(lambda: web.healthz()[0] == 200, timeout=SETTLE_S, what="/healthz 200 again")
        state = wait_settled(desk, before + during, what="every mail filed and reacted to")
        alive = {p.log.stem: p.process.poll() for p in (worker, beat, web.proc, fetcher)}
    assert answers, "no /healthz answer while the database was down"
    assert {status for status, _ in answers} == {503}
    assert all(body["database"].startswith("database unreachable") for _, body in answers)
    assert resumed_after < 60, f"intake resumed {resumed_after:.0f} s after the restart"
    assert alive == dict.fromkeys(alive)  # none of them exited
    assert_every_ticket_routed_acknowledged_once_and_timed(desk, state, before + during)


class QueueWatch(threading.Thread):
    """Reads what waits in each Celery queue on the broker every few milliseconds and keeps
    the most seen of each task in each queue, for the phase of the test it is told."""

    def __init__(self, broker: Redis, queues: list[str]) -> None:
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(broker.url, socket_timeout=5)
        self.queues = queues
        self.most: dict[str, Counter[tuple[str, str]]] = {}
        self.phase = "start"
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.05):
            most = self.most.setdefault(self.phase, Counter())
            for key, queued in queued_tasks(self.client, self.queues).items():
                most[key] = max(most[key], queued)

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)

    def most_ticks(self, *phases: str) -> int:
        """The most sweep ticks and nudges (any task but a row's own send) that waited in one
        queue at once during those phases."""
        seen = [self.most.get(phase, Counter()) for phase in phases]
        return max((n for s in seen for (_, task), n in s.items() if task != SEND_TASK), default=0)


SEND_TASK = "tickets.tasks.outbound_send_task"


def sends_queued(log: Path) -> int:
    """How many tasks that each send one outbox row the worker received."""
    return len(re.findall(rf"Task {re.escape(SEND_TASK)}\[[\w-]+\] received", log.read_text()))


def test_smtp_down_with_a_thousand_acknowledgements_pending_floods_no_queue_and_delays_no_timer(
    desk, broker, settings
):
    acks, outage_s = 1000, 20
    desk.sink.stop()
    watch = QueueWatch(broker, [q.name for q in settings.CELERY_TASK_QUEUES])
    watch.start()
    with (
        desk.worker("events", concurrency=2, queues=settings.CELERY_QUEUE_EVENTS) as events,
        desk.worker("outbox", concurrency=2, queues=settings.CELERY_QUEUE_OUTBOX) as outbox,
        desk.worker("timers", queues=settings.CELERY_QUEUE_TIMERS) as timers,
        desk.worker("default", queues=settings.CELERY_QUEUE_DEFAULT) as default,
        desk.beat() as beat,
    ):
        wait_ready(events, outbox, timers, default, beat)
        watch.phase = "acknowledged"
        desk.open_acknowledged(acks)

        def every_ack_tried_once() -> bool:
            rows = [r for r in desk.snapshot().outbox if "Web request" in r.subject]
            tried = len(rows) == acks and all(r.attempts and r.state != "sent" for r in rows)
            return tried and sends_queued(outbox.log) >= acks

        wait_for(every_ack_tried_once, timeout=SETTLE_S, what=f"{acks} acknowledgements tried")
        watch.phase = "outage"
        pending_since = datetime.now(UTC)
        plans = desk.build(due_in=3, first_response=10, waiting_user=10, expert_silent=10)
        # SMTP stays down until the steps due meanwhile have run (however slow the host),
        # and for `outage_s` at least.
        ran = desk.wait_for_runs(sum(len(p.steps) for p in plans), timeout=SETTLE_S)
        wait_until(pending_since + timedelta(seconds=outage_s))
        during = desk.snapshot()
        desk.sink.start()
        watch.phase = "after"
        back_at = datetime.now(UTC)

        def all_sent() -> bool:
            snap = desk.snapshot()
            return not snap.unsent() and len(desk.sink.messages) >= len(snap.outbox)

        wait_for(all_sent, timeout=SETTLE_S, what="every mail sent once SMTP is back")
        time.sleep(3)  # more sweeps: a mail sent twice would show
        snap = desk.snapshot()
    watch.stop()
    # The broker: each row's send was queued once, when its transaction committed; the
    # sweeps queued no more (they send what is due themselves), and while SMTP was down
    # with every acknowledgement pending, no more than a few ticks waited in any queue.
    # (Behind the burst of the acknowledgements' own sends, the outbox sweep's ticks wait
    # and expire: as many as the burst takes intervals to drain, ~10 here.)
    assert sends_queued(outbox.log) <= len(snap.outbox)
    assert watch.most_ticks("outage", "after") <= QUEUED_AT_MOST, watch.most
    # Every step due during the outage ran then, within the lag target.
    assert ran == sum(len(p.steps) for p in plans)
    assert during.steps_run(plans) == {p.timer: p.steps for p in plans}
    lags = {
        (p.timer, step): (during.ran_at[p.timer, step] - p.due_at).total_seconds()
        for p in plans
        for step in p.steps
    }
    assert max(lags.values()) <= TIMER_LAG_MAX_S, lags
    assert all(at < back_at for at in during.ran_at.values())
    assert not any(row.state == "sent" for row in during.outbox)
    # Once back, every mail went out once: an acknowledgement per ticket, the steps' mails.
    assert snap.unsent() == []
    assert (
        mails_by_ticket(desk.sink)
        == snap.outbox_by_ticket()
        == {
            **{row.ref: 1 for row in snap.outbox if "Web request" in row.subject},
            **{p.ref: p.mails for p in plans},
        }
    )
    assert duplicate_message_ids(desk.sink) == []
    assert len(desk.sink.messages) == len(snap.outbox)
