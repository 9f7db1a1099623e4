"""Timers at scale: 10,000 armed first-answer timers, due evenly over five minutes, run by a
real ``celery worker`` (concurrency 2, as in docker-compose.yml) and ``celery beat`` (the default
sweep: every TIMER_SWEEP_INTERVAL_S = 5 s, up to TIMER_SWEEP_BATCH = 500 rows) on PostgreSQL and
Redis. Each step marks its ticket overdue and mails the owner through the outbox, which the same
worker sends with Django's file backend (every mail it sends is kept, so a second one shows); the
rest of the beat schedule (heartbeat, outbox, mail poll, ...) runs too, as in production.

    timer_lag_p50_s, _p95_s, _max_s  TimerRun.ran_at - due_at over the steps that ran
                                     (targets: p95 < 10 s, max < 30 s)
    timer_duplicate_steps            steps done more than once: the largest excess found in
                                     three places, extra TimerRun rows per (timer, step), extra
                                     notification rows in the outbox per ticket, and extra
                                     mails the worker sent per ticket
    timer_missed_steps               timers without a TimerRun when the run ended (all timers
                                     ended, or 5 min + 2 min grace passed)
    sweep_100_due_ms                 in-process: median time of one timer_sweep() that finds
                                     100 due timers and runs them (mail enqueued on commit)
    sweep_queries                    the SQL statements of that sweep as Django logs them
                                     (CaptureQueriesContext): 1 for timers_due(), plus
                                     timer_step_queries for each of the 100 steps
    timer_step_queries               the statements of one step, (sweep_queries - 1) / 100: for a
                                     first-answer step only UPDATE the ticket (after hours:
                                     its owner is off shift) when it is not flagged yet; per
                                     chunk of 25: BEGIN, one claim, the calendar and the
                                     mailbox read once, one INSERT each for the mails, the
                                     runs and (two) the events, one UPDATE each for the
                                     timers, the overdue marks and the due times, COMMIT

    timer_lag_p95_loaded_s, _max_loaded_s, timer_missed_steps_loaded,
    timer_duplicate_steps_loaded     the same live run again with two CPU-bound processes
                                     beside it (a shared, busy host); BENCH_TIMERS_LOADED=0
                                     skips it

BENCH_TIMERS and BENCH_TIMERS_SPREAD_S make a quicker run (e.g. 500 timers over 30 s).
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

TIMERS = int(os.environ.get("BENCH_TIMERS", 10_000))
SPREAD = timedelta(seconds=int(os.environ.get("BENCH_TIMERS_SPREAD_S", 300)))
GRACE = timedelta(minutes=2)
DRAIN_S = 120  # after the last step, how long the outbox may take to send what is left
SWEEP_ROWS = 100
SWEEP_REPEATS = 7
SLUG, PREFIX = "bench-timers", "BTM"
SENT = re.compile(r"^Subject: \[BTM-(\d+)\] ", re.MULTILINE)


def _say(text: str) -> None:
    print(f"bench timers: {text}", file=sys.stderr, flush=True)


def _desk():
    """The bench team, its shifters and requester; what a previous run left is removed."""
    from django.contrib.auth.models import User

    from people.models import Membership, Role, Team
    from tickets.models import OutboundMail, Requester, Ticket

    team, _ = Team.objects.get_or_create(
        slug=SLUG,
        defaults={"name": "Bench timers", "ticket_prefix": PREFIX, "support_address": "t@x.org"},
    )
    OutboundMail.objects.filter(team=team).delete()  # tickets are PROTECTed by their mail
    Ticket.objects.filter(team=team).delete()  # timers and their runs go with them
    shifters = []
    for n in range(8):
        user, _ = User.objects.get_or_create(
            username=f"btm-shifter{n}", defaults={"email": f"btm-shifter{n}@x.org"}
        )
        Membership.objects.get_or_create(team=team, user=user, role=Role.SHIFTER)
        shifters.append(user)
    requester, _ = Requester.objects.get_or_create(email="btm-user@cern.ch", name="Bench User")
    return team, shifters, requester


def _tickets(team, shifters, requester, now: datetime) -> list[int]:
    from tickets.models import Status, Ticket

    opened = now - timedelta(hours=1)
    Ticket.objects.bulk_create(
        [
            Ticket(
                team=team,
                number=n,
                subject=f"Task {40_000_000 + n} stuck in running",
                requester=requester,
                status=Status.OPEN,
                zone="EU",
                assignee=shifters[n % len(shifters)],
                created_at=opened,
                last_message_at=opened,
            )
            for n in range(1, TIMERS + 1)
        ],
        batch_size=2000,
    )
    type(team).objects.filter(pk=team.pk).update(last_ticket_number=TIMERS)
    return list(Ticket.objects.filter(team=team).order_by("number").values_list("pk", flat=True))


def _arm(ticket_ids: list[int], first_due_at: datetime, spread: timedelta) -> None:
    """FIRST_RESPONSE timers due evenly over ``spread`` from ``first_due_at``, in bulk."""
    from escalation.models import Timer, TimerKind

    step = spread / len(ticket_ids)
    Timer.objects.bulk_create(
        [
            Timer(
                ticket_id=pk,
                kind=TimerKind.FIRST_RESPONSE,
                started_at=first_due_at - timedelta(hours=2),
                due_at=first_due_at + step * n,
            )
            for n, pk in enumerate(ticket_ids)
        ],
        batch_size=2000,
    )


def _celery(folder: Path):
    """Arguments and environment of the worker and of beat, with logs, state and the mail
    they send (``folder``/sent-mail) in ``folder``."""
    from tests.procs import PYTHON, child_env

    env = child_env(
        DAST_VAR_DIR=str(folder),
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
    )
    worker = [
        *(PYTHON, "-m", "celery", "-A", "dast", "worker", "--pool=prefork", "--concurrency=2"),
        # Every queue (timers, outbox, events, default), as the embedded set-up's worker.
        *("--without-mingle", "--without-gossip", "--loglevel=INFO"),
        *("--hostname", f"bench-timers-{folder.name}@%h"),
    ]
    beat = [
        *(PYTHON, "-m", "celery", "-A", "dast", "beat", "--loglevel=INFO"),
        *("--schedule", str(folder / "celerybeat-schedule"), "--pidfile", str(folder / "beat.pid")),
    ]
    return worker, beat, env


def _sent(folder: Path) -> Counter[str]:
    """Mails the worker sent, by ticket number, from their Subject lines (the file backend
    names a file by the second and the connection, so a file may hold more than one)."""
    sent = folder / "sent-mail"
    files = sent.iterdir() if sent.exists() else iter(())
    return Counter(n for f in files for n in SENT.findall(f.read_text(errors="replace")))


def _live_run(team, ticket_ids: list[int], folder: Path) -> dict[str, float]:
    """Start worker and beat, arm the timers, wait for them to end, stop both. Returns
    wall-clock facts for the report."""
    from django.utils import timezone

    from escalation.models import Timer, TimerRun, TimerState
    from tests.procs import running, wait_for
    from tickets.models import OutboundMail, OutboundState

    worker_args, beat_args, env = _celery(folder)
    worker_log, beat_log = folder / "worker.log", folder / "beat.log"
    timers = Timer.objects.filter(ticket__team=team)
    unsent = OutboundMail.objects.filter(
        team=team, state__in=[OutboundState.PENDING, OutboundState.SENDING]
    )
    (folder / "sent-mail").mkdir()
    with running(worker_args, env, worker_log) as worker:
        wait_for(
            lambda: "ready." in worker_log.read_text(errors="replace"),
            timeout=60,
            what="the worker",
            log=worker_log,
            process=worker,
        )
        with running(beat_args, env, beat_log) as beat:
            _say(
                f"worker pid {worker.pid}, beat pid {beat.pid}; arming {len(ticket_ids)} timers "
                f"({_load()})"
            )
            first_due_at = timezone.now() + timedelta(seconds=2)
            _arm(ticket_ids, first_due_at, SPREAD)
            armed_at = time.monotonic()
            report_at = armed_at + 20
            give_up = first_due_at + SPREAD + GRACE
            while timers.filter(state=TimerState.ARMED).exists() and timezone.now() < give_up:
                if worker.poll() is not None or beat.poll() is not None:
                    raise RuntimeError(f"worker or beat stopped:\n{_tail(worker_log, beat_log)}")
                time.sleep(1)
                if time.monotonic() >= report_at:
                    report_at += 20
                    _say(
                        f"{time.monotonic() - armed_at:5.0f} s: "
                        f"{timers.filter(state=TimerState.ARMED).count()} armed, "
                        f"{TimerRun.objects.filter(timer__ticket__team=team).count()} ran, "
                        f"{unsent.count()} mails unsent; "
                        f"{_load()}"
                    )
            steps_s = time.monotonic() - armed_at
            drain_until = time.monotonic() + DRAIN_S
            while unsent.exists() and time.monotonic() < drain_until:
                time.sleep(1)
            drained_s = time.monotonic() - armed_at
    return {"steps_s": steps_s, "drained_s": drained_s}


def _load() -> str:
    """The load average over the last minute: the box is shared by PostgreSQL, Redis, the
    worker, beat and anything else running."""
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def _tail(*logs: Path) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}" for log in logs)


def _sweeps_in_log(log: Path) -> None:
    """What the worker did with the sweep ticks: ran them (how long, how many steps, how many
    while another sweep was still running), or dropped them expired."""
    text = log.read_text(errors="replace")
    sweeps = sorted(
        (datetime.fromisoformat(end) - timedelta(seconds=float(took)), float(took), int(ran))
        for end, took, ran in re.findall(
            r"^\[([0-9-]+ [0-9:]+),\d+: INFO/\S+\] Task escalation\.tasks\.timer_sweep_task"
            r"\[[^\]]+\] succeeded in ([0-9.]+)s: (\d+)",
            text,
            re.MULTILINE,
        )
    )
    expired = len(re.findall(r"Discarding revoked task: escalation\.tasks\.timer_sweep", text))
    overlapping, busy_until = [], datetime.min
    for started, took, ran in sweeps:
        if started < busy_until:
            overlapping.append(ran)
        busy_until = max(busy_until, started + timedelta(seconds=took))
    took = [t for _, t, _ in sweeps] or [0.0]
    _say(
        f"worker ran {len(sweeps)} sweeps (median {statistics.median(took):.2f} s, max "
        f"{max(took):.2f} s, {sum(t for t in took):.0f} s in all), {len(overlapping)} of them "
        f"while another ran (they stepped {sum(overlapping)} timers); "
        f"{expired} sweep ticks expired unrun"
    )


def _figures_of_run(team, folder: Path) -> dict[str, dict]:
    from django.db.models import Count

    from escalation.models import Timer, TimerRun
    from tickets.models import OutboundMail
    from tickets.models.mail import OutboundKind

    runs = TimerRun.objects.filter(timer__ticket__team=team)
    lags = sorted((ran - due).total_seconds() for due, ran in runs.values_list("due_at", "ran_at"))
    extra_runs = sum(
        c - 1
        for c in runs.values("timer", "step").annotate(c=Count("pk")).values_list("c", flat=True)
        if c > 1
    )
    queued = Counter(
        OutboundMail.objects.filter(team=team, kind=OutboundKind.NOTIFICATION).values_list(
            "ticket_id", flat=True
        )
    )
    received = _sent(folder)
    extra_queued = sum(c - 1 for c in queued.values())
    extra_received = sum(c - 1 for c in received.values())
    missed = Timer.objects.filter(ticket__team=team, runs__isnull=True).count()
    _say(
        f"{len(lags)} steps ran, {missed} missed; extra runs {extra_runs}, extra outbox rows "
        f"{extra_queued}, extra mails sent {extra_received}; {len(queued)} tickets had a "
        f"notification queued, {len(received)} had one sent"
    )
    if not lags:
        raise RuntimeError("no timer step ran")
    return {
        "timer_lag_p50_s": {"value": round(statistics.median(lags), 2), "unit": "s"},
        "timer_lag_p95_s": {
            "value": round(statistics.quantiles(lags, n=100)[94], 2),
            "unit": "s",
        },
        "timer_lag_max_s": {"value": round(lags[-1], 2), "unit": "s"},
        "timer_duplicate_steps": {
            "value": max(extra_runs, extra_queued, extra_received),
            "unit": "steps",
        },
        "timer_missed_steps": {"value": missed, "unit": "steps"},
    }


def _sweep_100(team, ticket_ids: list[int]) -> dict[str, dict]:
    """One in-process sweep over SWEEP_ROWS due timers: its statements, and its median time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from escalation.models import Timer, TimerState
    from escalation.timers import timer_sweep, timers_due
    from tickets.models import Ticket

    # A straggler of the live run must not join the measured sweep.
    Timer.objects.filter(ticket__team=team, state=TimerState.ARMED).update(
        state=TimerState.CANCELLED, ended_at=timezone.now()
    )
    chosen = ticket_ids[:SWEEP_ROWS]

    def arm() -> datetime:
        Ticket.objects.filter(pk__in=chosen).update(overdue_since=None)
        now = timezone.now()
        _arm(chosen, now - timedelta(seconds=1), timedelta(milliseconds=SWEEP_ROWS))
        return timezone.now()

    now = arm()
    with CaptureQueriesContext(connection) as due_queries:
        due = timers_due(now, SWEEP_ROWS * 5)
    assert len(due) == SWEEP_ROWS, len(due)
    with CaptureQueriesContext(connection) as sweep_queries:
        assert timer_sweep(now=now) == SWEEP_ROWS
    timings = []
    for _ in range(SWEEP_REPEATS):
        now = arm()
        started = time.perf_counter()
        ran = timer_sweep(now=now)
        timings.append((time.perf_counter() - started) * 1000)
        assert ran == SWEEP_ROWS, ran
    queries = len(sweep_queries)
    per_step = (queries - len(due_queries)) / SWEEP_ROWS
    _say(
        f"timers_due: {len(due_queries)} query; one sweep of {SWEEP_ROWS}: {queries} statements "
        f"({per_step:g} a step); {', '.join(f'{t:.0f}' for t in timings)} ms"
    )
    return {
        "sweep_100_due_ms": {"value": round(statistics.median(timings), 1), "unit": "ms"},
        "sweep_queries": {"value": queries, "unit": "queries"},
        "timer_step_queries": {"value": round(per_step, 2), "unit": "queries"},
    }


def _burners(seconds: float) -> list:
    """Two CPU-bound processes beside the benchmark, as on a shared host; each stops by
    itself after ``seconds`` and is stopped by PID at the end of the run anyway."""
    import subprocess

    loop = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass"
    return [subprocess.Popen([sys.executable, "-c", loop]) for _ in range(2)]


def _one_run(ctx, *, loaded: bool) -> dict[str, dict]:
    from django.utils import timezone

    team, shifters, requester = _desk()
    ticket_ids = _tickets(team, shifters, requester, timezone.now())
    _say(f"{len(ticket_ids)} tickets of {team.slug} created{', two CPU burners beside' * loaded}")
    folder = Path(tempfile.mkdtemp(prefix="timers-", dir=ctx.work_dir))
    _say(f"worker and beat logs in {folder}")
    burners = _burners((SPREAD + GRACE).total_seconds() + DRAIN_S) if loaded else []
    try:
        took = _live_run(team, ticket_ids, folder)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    _sweeps_in_log(folder / "worker.log")
    _say(
        f"all steps done {took['steps_s']:.0f} s after arming, "
        f"outbox drained at {took['drained_s']:.0f} s; {_load()}"
    )
    figures = _figures_of_run(team, folder)
    if not loaded:
        return {**figures, **_sweep_100(team, ticket_ids)}
    return {
        "timer_lag_p95_loaded_s": figures["timer_lag_p95_s"],
        "timer_lag_max_loaded_s": figures["timer_lag_max_s"],
        "timer_missed_steps_loaded": figures["timer_missed_steps"],
        "timer_duplicate_steps_loaded": figures["timer_duplicate_steps"],
    }


def run(ctx) -> dict:
    from django.conf import settings

    _say(
        f"sweep every {settings.TIMER_SWEEP_INTERVAL_S} s, batch {settings.TIMER_SWEEP_BATCH}, "
        f"database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"broker {settings.CELERY_BROKER_URL.split(':', 1)[0]}"
    )
    figures = _one_run(ctx, loaded=False)
    if os.environ.get("BENCH_TIMERS_LOADED", "1") != "0":
        figures |= _one_run(ctx, loaded=True)
    return figures
