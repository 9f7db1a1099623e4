"""Live intake from a real Dovecot, measured until the last ticket is routed and its
acknowledgement is in the outbox.

The production shape: a fetcher (one MailboxWatcher, as ``fetch_mail`` runs it) only stores
and files; a real Celery worker on the events queue (concurrency 2, as docker-compose's
``worker-events``) runs the event log's consumers: routing, acknowledgement, first-answer
timer, expert replies, references; beat sweeps the log every EVENT_SWEEP_INTERVAL_S.

1. Backlog: 5,000 generated DAST-archive messages (new tickets, replies, list copies,
   bounces and auto-replies: the mix the generator makes, counted in the figures) are
   APPENDed first; the clock stops when every mail is filed and no event delivery is left
   pending.
2. Latency: with the fetcher waiting in IDLE, 60 messages are APPENDed one at a time; each
   is timed until its ticket is routed (the routing delivery done) and its acknowledgement
   row is in the outbox.
3. ``event_consumer_lag_p95_s``: over the backlog's deliveries, done_at - created_at.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid
from pathlib import Path

from django.db import close_old_connections

from benchmarks.desks import imap_desk
from tests.mailfactory import make_mail
from tests.mailservers import Dovecot
from tests.procs import PYTHON, child_env, running, wait_for
from tickets.mail.fetch import MailboxWatcher
from tickets.models import DeliveryState, EventDelivery, OutboundMail, RawMessage, Ticket
from tickets.models.mail import OutboundKind
from tools.mailgen import iter_messages, render_message

BACKLOG = int(os.environ.get("BENCH_INTAKE_BACKLOG", 5000))
LATENCY_SAMPLES = 60


def _wait(condition, timeout: float, every: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("intake did not finish in time")
        time.sleep(every)


def _consumers(folder: Path):
    """A worker on the events queue and beat, as docker-compose runs them."""
    env = child_env(DAST_VAR_DIR=str(folder))
    worker = [
        *(PYTHON, "-m", "celery", "-A", "dast", "worker", "--pool=prefork", "--concurrency=2"),
        *("-Q", "events", "--without-mingle", "--without-gossip", "--loglevel=INFO"),
        *("--hostname", f"bench-intake-{folder.name}@%h"),
    ]
    beat = [
        *(PYTHON, "-m", "celery", "-A", "dast", "beat", "--loglevel=WARNING"),
        *("--schedule", str(folder / "celerybeat-schedule")),
    ]
    return worker, beat, env


def run(ctx) -> dict:
    folder = ctx.work_dir / f"intake-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    worker_args, beat_args, env = _consumers(folder)
    with (
        Dovecot.start({"desk": "bench-pw"}) as imap,
        running(worker_args, env, folder / "worker.log") as worker,
        running(beat_args, env, folder / "beat.log"),
    ):
        wait_for(
            lambda: (
                "ready" in (folder / "worker.log").read_text(errors="replace")
                or worker.poll() is not None
            ),
            timeout=60,
            what="the events worker",
        )
        suffix = uuid.uuid4().hex[:6]
        team, mailbox = imap_desk(
            imap,
            slug=f"intake-{suffix}",
            name="Intake bench",
            prefix=f"I{suffix.upper()}",
            mailbox="desk",
        )
        raws = [render_message(m, t) for t, m in iter_messages(7, BACKLOG)]
        imap.append_many("desk", "bench-pw", raws)
        watcher = MailboxWatcher(mailbox, idle_seconds=5)
        thread = threading.Thread(target=_run, args=(watcher,), daemon=True)
        filed = RawMessage.objects.filter(team=team).exclude(state="new")
        pending = EventDelivery.objects.filter(event__team=team, state=DeliveryState.PENDING)
        started = time.perf_counter()
        thread.start()
        # Checked every 0.1 s (under 1% of the figure): the fetcher runs in this process,
        # and a tighter poll would take its interpreter and database time, which a
        # production fetcher (a process of its own) does not pay.
        _wait(lambda: filed.count() >= len(raws), timeout=3600, every=0.1)
        filed_s = time.perf_counter() - started
        _wait(lambda: not pending.exists(), timeout=3600, every=0.1)
        backlog_s = time.perf_counter() - started
        deliveries = EventDelivery.objects.filter(event__team=team, state=DeliveryState.DONE)
        lags = [
            (done - created).total_seconds()
            for created, done in deliveries.values_list("created_at", "done_at")
        ]
        states = dict.fromkeys(("processed", "duplicate", "ignored", "failed"), 0)
        for state in filed.values_list("state", flat=True):
            states[state] = states.get(state, 0) + 1
        opened = Ticket.objects.filter(team=team).count()
        # Auto-replies and bounces: kept quietly on their ticket, or ignored outside one.
        noise = filed.filter(note__contains="kept on the ticket").count()
        acks = OutboundMail.objects.filter(team=team, kind=OutboundKind.ACKNOWLEDGEMENT).count()
        latencies = [_probe(imap, team, n, suffix) for n in range(LATENCY_SAMPLES)]
        watcher.stop()
        thread.join(30)
    return {
        "intake_msgs_per_s": {"value": round(len(raws) / backlog_s, 1), "unit": "msg/s"},
        "intake_filed_msgs_per_s": {"value": round(len(raws) / filed_s, 1), "unit": "msg/s"},
        "intake_p95_s": {"value": round(statistics.quantiles(latencies, n=20)[18], 3), "unit": "s"},
        "intake_p50_s": {"value": round(statistics.median(latencies), 3), "unit": "s"},
        "event_consumer_lag_p50_s": {"value": round(statistics.median(lags), 3), "unit": "s"},
        "event_consumer_lag_p95_s": {
            "value": round(statistics.quantiles(lags, n=20)[18], 3),
            "unit": "s",
        },
        "intake_mix_new_tickets": {"value": opened, "unit": "tickets"},
        "intake_mix_joined_or_noise": {"value": states["processed"] - opened, "unit": "mails"},
        "intake_mix_replies": {"value": states["processed"] - opened - noise, "unit": "mails"},
        "intake_mix_noise_on_tickets": {"value": noise, "unit": "mails"},
        "intake_mix_duplicates": {"value": states["duplicate"], "unit": "mails"},
        "intake_mix_ignored": {"value": states["ignored"], "unit": "mails"},
        "intake_acknowledgements": {"value": acks, "unit": "mails"},
    }


def _probe(imap, team, n: int, suffix: str) -> float:
    """One new mail, timed from APPEND until its ticket is routed and acknowledged."""
    subject = f"latency probe {n} {suffix}"
    raw = make_mail(
        sender=(f"User {n}", f"user{n}.{suffix}@cern.ch"),
        message_id=f"<lat-{n}-{suffix}@cern.ch>",
        subject=subject,
    )
    routed = EventDelivery.objects.filter(
        event__team=team,
        event__ticket__subject=subject,
        consumer="routing",
        state=DeliveryState.DONE,
    )
    acked = OutboundMail.objects.filter(
        team=team, ticket__subject=subject, kind=OutboundKind.ACKNOWLEDGEMENT
    )
    sent = time.perf_counter()
    imap.append("desk", "bench-pw", raw)
    _wait(lambda: routed.exists() and acked.exists(), timeout=60)
    took = time.perf_counter() - sent
    time.sleep(0.1)
    return took


def _run(watcher: MailboxWatcher) -> None:
    close_old_connections()
    watcher.run()
