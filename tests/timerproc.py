"""Real processes for the timer reliability tests: a PostgreSQL and a Redis of the tests' own
(restarting or flushing them harms no other test), a Celery worker and beat started as in
production, a desk built by a child process, and what happened read back with plain SQL.

    python -m tests.timerproc build --due-in 5 --first-response 3   # what Desk.build runs

The builder prints one JSON line: what each timer it armed must do (which steps run, how many
mails its ticket gets). The tests compare that plan with the TimerRun rows, the outbox and the
mails the SMTP sink received.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import psycopg2
import redis
from django.conf import settings

from tests.mailservers import SmtpSink
from tests.procs import PYTHON, ROOT, child_env, running, wait_for
from tests.servers import IS_ROOT, ServerError, start_postgres, start_redis

TAG = re.compile(r"\[(DAST-\d+)\]")


def _wait_ready(ready: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise ServerError(f"{what} did not come back within {timeout:.0f} s")
        time.sleep(0.1)


# --- servers that a test may stop, flush and start again ------------------------------------


class Postgres:
    """A durable cluster (fsync on: a crash must lose no commit). The migrated database
    ``dast`` is the template of each test's own database."""

    def __init__(self, root: Path) -> None:
        self.server = start_postgres(root, durable=True)
        self.url = self.server.env["DATABASE_URL"]
        self.args = list(self.server.process.args)

    def database_url(self, name: str) -> str:
        return f"{self.url.rsplit('/', 1)[0]}/{name}"

    def migrate(self) -> None:
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=child_env(DATABASE_URL=self.url),
            check=True,
            timeout=300,
        )

    def create_database(self, name: str) -> str:
        with contextlib.closing(psycopg2.connect(self.database_url("postgres"))) as conn:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE dast')
        return self.database_url(name)

    def _accepts(self) -> bool:
        try:
            psycopg2.connect(self.database_url("postgres"), connect_timeout=2).close()
        except psycopg2.OperationalError:
            return False
        return True

    def crash(self) -> None:
        """Immediate shutdown (SIGQUIT): no checkpoint, open transactions die, and the next
        start recovers from the WAL as after a crash."""
        self.server.process.send_signal(signal.SIGQUIT)
        self.server.process.wait(30)

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """Whatever stops the server in the ``with`` block, it starts again at its end."""
        try:
            yield
        finally:
            if self.server.process.poll() is not None:
                self.start()

    def start(self) -> None:
        assert self.server.process.poll() is not None, "PostgreSQL is still running"
        user = "postgres" if IS_ROOT else None
        assert self.server.log is not None
        with open(self.server.log, "ab") as out:
            self.server.process = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, user=user, group=user
            )
        _wait_ready(self._accepts, "PostgreSQL")

    def stop(self) -> None:
        self.server.stop()

    def aborted_by_the_client(self) -> int:
        """How many transactions died with their client so far (PostgreSQL logs each)."""
        assert self.server.log is not None
        text = self.server.log.read_text(errors="replace")
        return text.count("unexpected EOF on client connection with an open transaction")


class Redis:
    """A Redis without persistence: a restart comes back empty, as after a flush."""

    def __init__(self, root: Path) -> None:
        self.server = start_redis(root)
        self.url = self.server.env["CELERY_BROKER_URL"]
        self.args = list(self.server.process.args)

    def _client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)

    def _pong(self) -> bool:
        try:
            return bool(self._client().ping())
        except redis.RedisError:
            return False

    def flush_when_sends_queued(self, timeout: float = 60) -> int:
        """FLUSHALL as soon as mails wait in the queue to be sent (published by steps that
        committed while the worker's only process is still sweeping); returns how many."""
        client = self._client()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            queued = client.lrange(settings.CELERY_QUEUE_OUTBOX, 0, -1)
            tasks = [json.loads(raw)["headers"]["task"] for raw in queued]
            sends = tasks.count("tickets.tasks.outbound_send_task")
            if sends:
                client.flushall()
                return sends
            time.sleep(0.005)
        raise AssertionError(f"no mail queued to be sent within {timeout} s")

    def stop(self) -> None:
        self.server.stop()

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """Down for the ``with`` block; it comes back empty, on the same port."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def start(self) -> None:
        assert self.server.process.poll() is not None, "Redis is still running"
        assert self.server.log is not None
        with open(self.server.log, "ab") as out:
            self.server.process = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT)
        _wait_ready(self._pong, "Redis")


# --- what the builder armed, and what happened ----------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One armed timer: the steps it must run, once each, and the mails its ticket gets."""

    ref: str
    timer: int
    kind: str
    steps: tuple[int, ...]
    mails: int
    due_at: datetime


@dataclass(frozen=True)
class TimerRow:
    kind: str
    state: str
    step: int
    version: int
    due_at: datetime


@dataclass(frozen=True)
class OutboxRow:
    id: int
    ref: str
    state: str
    attempts: int
    sent_at: datetime | None
    last_error: str
    subject: str


@dataclass
class Snapshot:
    runs: Counter[tuple[int, int]]  # (timer, step) -> TimerRun rows
    ran_at: dict[tuple[int, int], datetime]
    timers: dict[int, TimerRow]
    outbox: list[OutboxRow]

    def steps_run(self, plans: list[Plan]) -> dict[int, tuple[int, ...]]:
        return {
            p.timer: tuple(sorted(step for timer, step in self.runs if timer == p.timer))
            for p in plans
        }

    def unsent(self) -> list[OutboxRow]:
        return [row for row in self.outbox if row.state != "sent"]

    def outbox_by_ticket(self) -> Counter[str]:
        return Counter(row.ref for row in self.outbox)


def _rows(db_url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with (
        contextlib.closing(psycopg2.connect(db_url, connect_timeout=5)) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def snapshot(db_url: str) -> Snapshot:
    runs: Counter[tuple[int, int]] = Counter()
    ran_at = {}
    for timer, step, at in _rows(db_url, "SELECT timer_id, step, ran_at FROM escalation_timerrun"):
        runs[timer, step] += 1
        ran_at[timer, step] = at
    timers = {
        row[0]: TimerRow(*row[1:])
        for row in _rows(
            db_url, "SELECT id, kind, state, step, version, due_at FROM escalation_timer"
        )
    }
    outbox = [
        OutboxRow(*row)
        for row in _rows(
            db_url,
            "SELECT o.id, coalesce(t.ticket_prefix || '-' || k.number, '?'), o.state,"
            " o.attempts, o.sent_at, o.last_error, o.subject FROM tickets_outboundmail o"
            " LEFT JOIN tickets_ticket k ON k.id = o.ticket_id"
            " LEFT JOIN tickets_team t ON t.id = k.team_id ORDER BY o.id",
        )
    ]
    return Snapshot(runs, ran_at, timers, outbox)


def runs_so_far(db_url: str) -> int:
    return int(_rows(db_url, "SELECT count(*) FROM escalation_timerrun")[0][0])


def mails_by_ticket(sink: SmtpSink, to_prefix: str = "") -> Counter[str]:
    """Mails the sink received (only those to an address starting with ``to_prefix``), by
    the ticket reference in their subject."""
    found: Counter[str] = Counter()
    for mail in sink.messages:
        message = mail.message()
        if not any(a.startswith(to_prefix) for _, a in getaddresses([str(message["To"])])):
            continue
        match = TAG.search(str(message["Subject"]))
        found[match.group(1) if match else "?"] += 1
    return found


def duplicate_message_ids(sink: SmtpSink) -> list[str]:
    seen = Counter(str(mail.message()["Message-ID"]) for mail in sink.messages)
    return [mid for mid, count in seen.items() if count > 1]


# --- the desk's processes -------------------------------------------------------------------


@dataclass
class Proc:
    process: subprocess.Popen[bytes]
    log: Path
    ready_text: str

    def wait_ready(self, timeout: float = 60) -> None:
        wait_for(
            lambda: self.ready_text in self.log.read_text(errors="replace"),
            timeout=timeout,
            what=f"{self.log.stem}: {self.ready_text!r}",
            log=self.log,
            process=self.process,
        )


def wait_ready(*procs: Proc) -> None:
    for proc in procs:
        proc.wait_ready()


class Desk:
    """One test's desk: its database, broker and SMTP sink, and the worker and beat processes
    it starts (each stopped by its PID when its ``with`` block ends). The processes start in
    the background: arm the timers meanwhile, then ``wait_ready``."""

    def __init__(self, *, db_url: str, broker_url: str, sink: SmtpSink, folder: Path) -> None:
        self.db_url = db_url
        self.sink = sink
        self.folder = folder
        (folder / "var").mkdir(exist_ok=True)
        self.env = child_env(
            DATABASE_URL=db_url,
            CELERY_BROKER_URL=broker_url,
            DAST_VAR_DIR=str(folder / "var"),
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST=sink.host,
            EMAIL_PORT=str(sink.port),
            EMAIL_TIMEOUT="5",
            # Sweep timers every second; sweep the outbox every two and retry a failed send
            # after 1, 2, 4 ... s; look again every second at a response timer whose
            # escalation mail is still in the outbox.
            TIMER_SWEEP_INTERVAL_S="1",
            OUTBOX_SWEEP_INTERVAL_S="2",
            OUTBOX_RETRY_BASE_S="1",
            TIMER_UNSENT_RECHECK_S="1",
            # The other beat entries stay out of the way.
            HEARTBEAT_INTERVAL_S="3600",
            MAIL_POLL_INTERVAL_S="3600",
            HANDOVER_INTERVAL_S="3600",
            LOG_LEVEL="INFO",
        )

    def build(self, *, due_in: float, **counts: int) -> list[Plan]:
        """Arm timers due ``due_in`` seconds from now (see ``build`` below for the kinds)."""
        args = [PYTHON, "-m", "tests.timerproc", "build", "--due-in", str(due_in)]
        for name, count in counts.items():
            args += [f"--{name.replace('_', '-')}", str(count)]
        done = subprocess.run(
            args, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=180
        )
        if done.returncode != 0:
            raise AssertionError(f"the builder failed:\n{done.stderr[-4000:]}")
        return [
            Plan(**{**p, "steps": tuple(p["steps"]), "due_at": datetime.fromisoformat(p["due_at"])})
            for p in json.loads(done.stdout.strip().splitlines()[-1])
        ]

    @contextlib.contextmanager
    def worker(
        self, name: str = "worker", *, concurrency: int = 1, queues: str = ""
    ) -> Iterator[Proc]:
        """A worker of every queue, or of ``queues`` ("events", "outbox,timers") as
        docker-compose runs them. Its database sessions are named after it
        (``pg_stat_activity.application_name``)."""
        log = self.folder / f"{name}.log"
        args = [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "dast",
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=INFO",
            "-n",
            f"{name}@%h",
            *(["-Q", queues] if queues else []),
        ]
        with running(args, self.named(name), log) as process:
            yield Proc(process, log, "ready.")

    def named(self, name: str) -> dict[str, str]:
        """The environment of a process whose database sessions carry ``name``."""
        return {**self.env, "DATABASE_URL": f"{self.db_url}?application_name={name}"}

    @contextlib.contextmanager
    def beat(self, name: str = "beat") -> Iterator[Proc]:
        log = self.folder / f"{name}.log"
        schedule = self.folder / f"{name}-schedule"
        args = [PYTHON, "-m", "celery", "-A", "dast", "beat", "-s", str(schedule), "-l", "INFO"]
        with running(args, self.env, log) as process:
            yield Proc(process, log, "Sending due task timers")

    def snapshot(self) -> Snapshot:
        return snapshot(self.db_url)

    def wait_until_done(self, plans: list[Plan], *, timeout: float = 90) -> Snapshot:
        """Until every planned step has run and the sink has as many mails as planned with
        nothing left in the outbox; then some more sweeps, in which nothing may change."""
        want = sum(p.mails for p in plans)

        def done() -> Snapshot | None:
            snap = self.snapshot()
            steps = snap.steps_run(plans)
            ran = all(steps[p.timer] == p.steps for p in plans)
            sent = not snap.unsent() and len(self.sink.messages) >= want
            return snap if ran and sent else None

        wait_for(done, timeout=timeout, what=f"{len(plans)} timers done and {want} mails")
        time.sleep(2)  # more sweeps of timers and outbox: a late duplicate would show
        return self.snapshot()

    def wait_for_runs(self, at_least: int, *, timeout: float = 60) -> int:
        """Poll often (to catch a sweep in the middle) until that many steps have run."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            count = runs_so_far(self.db_url)
            if count >= at_least:
                return count
            time.sleep(0.02)
        raise AssertionError(f"fewer than {at_least} steps ran in {timeout} s")


def task_in_hand(log_text: str) -> tuple[str, bool]:
    """The task a worker (of concurrency 1, prefetching 1) received last, and whether it
    finished."""
    name, task_id = re.findall(r"Task ([\w.]+)\[([0-9a-f-]+)\] received", log_text)[-1]
    return name, f"[{task_id}] succeeded" in log_text or f"[{task_id}] raised" in log_text


def in_the_middle_of_a_step(db_url: str, action: Callable[[], None], timeout: float = 60) -> None:
    """Do ``action`` (a kill, a crash) while a worker is inside a step: its transaction has
    written (claimed a timer) and waits for the worker's next statement, which is not the
    last one before COMMIT. Polling for a new TimerRun instead would strike just after a
    commit, between two steps."""
    open_writes = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND state = 'idle in transaction'"
        " AND backend_xid IS NOT NULL AND query NOT LIKE 'RELEASE SAVEPOINT%'"
        ' AND query NOT LIKE \'UPDATE "escalation_timer" SET "state"%\''
    )
    deadline = time.monotonic() + timeout
    with contextlib.closing(psycopg2.connect(db_url)) as conn:
        conn.autocommit = True
        cursor = conn.cursor()
        while time.monotonic() < deadline:
            cursor.execute(open_writes)
            if cursor.fetchone()[0]:
                action()
                return
            time.sleep(0.001)
    raise AssertionError(f"no step in progress within {timeout} s")


def pool_processes(worker: subprocess.Popen[bytes]) -> list[int]:
    """The prefork pool's processes: the worker's children."""
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    return [int(pid) for pid in children]


# --- the builder (run in a child process with Django set up) --------------------------------


def build(
    *,
    due_in: float,
    first_response: int = 0,
    waiting_user: int = 0,
    expert_silent: int = 0,
    expert_new: int = 0,
) -> list[dict[str, Any]]:
    """Arm timers due ``due_in`` seconds from now, through the services the desk uses:

    first_response  an assigned ticket without a first answer: one step, its owner mailed.
    waiting_user    waiting on the user for 60 days: reminder (step 0), then resolved with a
                    notice (step 1, due at once after step 0); two mails to the requester.
    expert_silent   waiting 60 days on a JIRA ticket: reminder to the owner (step 0), then the
                    coordinator and the owner told (step 1); three mails.
    expert_new      escalated to an expert group now: the escalation mail goes through the
                    outbox; its reminder is due 8 working hours after that mail went out, so
                    within a test no step runs; one mail.
    """
    from django.db import transaction

    with transaction.atomic():  # one commit, not five a ticket
        return _build(due_in, first_response, waiting_user, expert_silent, expert_new)


def _build(
    due_in: float, first_response: int, waiting_user: int, expert_silent: int, expert_new: int
) -> list[dict[str, Any]]:
    from django.utils import timezone

    from escalation.models import EscalationState, ExpertGroup, Timer, TimerKind
    from escalation.services import escalation_create
    from escalation.timers import timer_arm
    from people.models import Role, Team
    from tests.factories import shift_team
    from tickets.models import Status, Ticket
    from tickets.services import Sender, external_refs_add, ticket_open

    now = timezone.now()
    due = now + timedelta(seconds=due_in)
    long_ago = now - timedelta(days=60)
    team = Team.objects.filter(slug="dast").first() or shift_team(
        {"anna": Role.SHIFTER, "elena": Role.COORDINATOR}
    )
    anna = team.memberships.get(user__username="anna").user
    group, _ = ExpertGroup.objects.get_or_create(
        team=team, name="Rucio/DDM", defaults={"email": "rucio@cern.ch"}
    )
    plans: list[dict[str, Any]] = []

    def ticket(n: int, status: Status = Status.OPEN) -> Ticket:
        opened = ticket_open(
            team=team,
            sender=Sender(f"user{n}@example.org", f"User {n}"),
            subject=f"Task {15934870 + n} exhausted",
            body_text="All jobs fail with lost heartbeat.",
            announce=False,
        )
        Ticket.objects.filter(pk=opened.pk).update(assignee=anna, status=status)
        opened.refresh_from_db()
        return opened

    def plan(t: Ticket, timer: Timer, steps: list[int], mails: int) -> None:
        Timer.objects.filter(pk=timer.pk).update(due_at=due)
        plans.append(
            {
                "ref": t.reference,
                "timer": timer.pk,
                "kind": timer.kind,
                "steps": steps,
                "mails": mails,
                "due_at": due.isoformat(),
            }
        )

    for n in range(first_response):
        t = ticket(n)
        timer = timer_arm(
            ticket=t, kind=TimerKind.FIRST_RESPONSE, started_at=now - timedelta(hours=3), due_at=due
        )
        plan(t, timer, [0], 1)
    for n in range(waiting_user):
        t = ticket(n, Status.WAITING_ON_USER)
        timer = timer_arm(ticket=t, kind=TimerKind.WAITING_USER, started_at=long_ago, due_at=due)
        plan(t, timer, [0, 1], 2)
    for n in range(expert_silent):
        t = ticket(n)
        (ref,) = external_refs_add(ticket=t, refs=[("jira", f"ATLASPANDA-{t.number}")])
        esc = escalation_create(
            ticket=t, by=anna, note="Waiting on JIRA.", external_ref=ref, at=long_ago
        )
        plan(t, Timer.objects.get(escalation=esc), [0, 1], 3)
    for n in range(expert_new):
        t = ticket(n)
        esc = escalation_create(ticket=t, by=anna, note="Please look at the rule.", group=group)
        assert esc.state == EscalationState.WAITING
        plan(t, Timer.objects.get(escalation=esc), [], 1)
    return plans


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Arm timers for the reliability tests.")
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--due-in", type=float, required=True)
    for kind in ("first-response", "waiting-user", "expert-silent", "expert-new"):
        parser.add_argument(f"--{kind}", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dast.settings")
    import django

    django.setup()
    plans = build(
        due_in=args.due_in,
        first_response=args.first_response,
        waiting_user=args.waiting_user,
        expert_silent=args.expert_silent,
        expert_new=args.expert_new,
    )
    print(json.dumps(plans))
    return 0


if __name__ == "__main__":
    sys.exit(main())
