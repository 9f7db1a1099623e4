"""Live intake from a real Dovecot: APPEND -> ticket stored and acknowledgement queued.

1. Backlog: 5,000 generated messages are APPENDed first, then one fetcher works them off.
2. Latency: with the fetcher waiting in IDLE, 60 messages are APPENDed one at a time; each
   is timed until its ticket message is stored and (for a new ticket) its acknowledgement row
   is in the outbox.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid

from django.db import close_old_connections

from tests.mailfactory import make_mail
from tests.mailservers import Dovecot
from tickets.models import Mailbox, Message, OutboundMail, RawMessage, Team
from tickets.services.fetch import MailboxWatcher
from tools.mailgen import iter_messages, render_message

BACKLOG = int(os.environ.get("BENCH_INTAKE_BACKLOG", 5000))
LATENCY_SAMPLES = 60


def _wait(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("intake did not finish in time")
        time.sleep(0.01)


def run(ctx) -> dict:
    os.environ["DAST_BENCH_IMAP_PW"] = "bench-pw"
    with Dovecot.start({"desk": "bench-pw"}) as imap:
        suffix = uuid.uuid4().hex[:6]
        team = Team.objects.create(
            slug=f"intake-{suffix}",
            name="Intake bench",
            ticket_prefix=f"I{suffix.upper()}",
            support_address="hn-atlas-dist-analysis-help@cern.ch",
        )
        mailbox = Mailbox.objects.create(
            team=team,
            name="desk",
            host=imap.host,
            port=imap.port,
            security="none",
            username="desk",
            password_env="DAST_BENCH_IMAP_PW",
            addresses="dast-desk@cern.ch",
        )
        raws = [render_message(m, t) for t, m in iter_messages(7, BACKLOG)]
        imap.append_many("desk", "bench-pw", raws)
        watcher = MailboxWatcher(mailbox, idle_seconds=5)
        thread = threading.Thread(target=_run, args=(watcher,), daemon=True)
        started = time.perf_counter()
        thread.start()
        done = RawMessage.objects.filter(team=team, state__in=["processed", "ignored", "failed"])
        _wait(lambda: done.count() >= len(raws), timeout=3600)
        backlog_s = time.perf_counter() - started
        latencies = []
        for n in range(LATENCY_SAMPLES):
            message_id = f"<lat-{n}-{suffix}@cern.ch>"
            raw = make_mail(
                sender=(f"User {n}", f"user{n}.{suffix}@cern.ch"),
                message_id=message_id,
                subject=f"latency probe {n}",
            )
            sent = time.perf_counter()
            imap.append("desk", "bench-pw", raw)
            _wait(
                lambda mid=message_id: (
                    Message.objects.filter(team=team, message_id=mid).exists()
                    and OutboundMail.objects.filter(
                        team=team, ticket__messages__message_id=mid
                    ).exists()
                ),
                timeout=60,
            )
            latencies.append(time.perf_counter() - sent)
            time.sleep(0.1)
        watcher.stop()
        thread.join(30)
    return {
        "intake_msgs_per_s": {"value": round(len(raws) / backlog_s, 1), "unit": "msg/s"},
        "intake_p95_s": {"value": round(statistics.quantiles(latencies, n=20)[18], 3), "unit": "s"},
        "intake_p50_s": {"value": round(statistics.median(latencies), 3), "unit": "s"},
    }


def _run(watcher: MailboxWatcher) -> None:
    close_old_connections()
    watcher.run()
