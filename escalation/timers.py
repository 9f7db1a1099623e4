"""Timers that never forget: deadlines stored as rows, swept by beat, one step at a time.

    timer_sweep(now)        one indexed query for armed rows whose due_at has passed,
                            then timer_step() for each
    timer_step(pk, version) claims the row with a conditional UPDATE of its version (a
                            second sweeper, or a redelivered task, finds 0 rows and stops),
                            runs one step, records it in TimerRun (unique per timer and
                            step: the database refuses a second run), writes the next
                            due_at or ends the timer; the mail it sends is an outbox row of
                            the same transaction, sent after commit.

A worker killed mid-step rolls its transaction back: the row is still armed and due, and the
next sweep runs the step. Nothing lives in Redis but the "sweep now" tick.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from common.bulk import bulk_insert, update_rows
from common.memo import memo_scope
from escalation.calendars import after_working
from escalation.models import Escalation, Timer, TimerKind, TimerRun, TimerState
from tickets.events import event_record, events_buffered, events_mark
from tickets.mail.outbox import outbound_queue_many
from tickets.models import OPEN_STATUSES, EventKind, OutboundMail, Ticket
from tickets.services import ticket_mark_overdue, tickets_mark_overdue, tickets_set_due

log = logging.getLogger(__name__)


# --- arming and cancelling ------------------------------------------------------------------


def timer_arm(
    *,
    ticket: Ticket,
    kind: TimerKind,
    started_at: datetime,
    due_at: datetime,
    escalation: Escalation | None = None,
) -> Timer:
    """Arm a timer, replacing an armed one of the same ticket and kind (or escalation)."""
    with transaction.atomic():
        _cancel(ticket=ticket, kinds=[kind], escalation=escalation)
        timer = Timer.objects.create(
            ticket=ticket, kind=kind, started_at=started_at, due_at=due_at, escalation=escalation
        )
        due_refresh(ticket)
        return timer


def timers_cancel(
    *,
    ticket: Ticket,
    kinds: list[TimerKind] | None = None,
    escalation: Escalation | None = None,
    at: datetime | None = None,
) -> int:
    """Stop armed timers of the ticket (of these kinds / of this escalation). The version
    moves too, so that a step that was claimed before cannot finish on a stale read."""
    stopped = _cancel(ticket=ticket, kinds=kinds, escalation=escalation, at=at)
    due_refresh(ticket)
    return stopped


def _cancel(
    *,
    ticket: Ticket,
    kinds: list[TimerKind] | None = None,
    escalation: Escalation | None = None,
    at: datetime | None = None,
) -> int:
    timers = Timer.objects.filter(ticket=ticket, state=TimerState.ARMED)
    if kinds is not None:
        timers = timers.filter(kind__in=kinds)
    if escalation is not None:
        timers = timers.filter(escalation=escalation)
    elif kinds is not None and TimerKind.EXPERT_RESPONSE not in kinds:
        timers = timers.filter(escalation__isnull=True)
    return timers.update(
        state=TimerState.CANCELLED, ended_at=at or timezone.now(), version=F("version") + 1
    )


_DEFERRED: ContextVar[dict[int, Ticket] | None] = ContextVar("due_deferred", default=None)


@contextlib.contextmanager
def due_refresh_deferred() -> Iterator[None]:
    """Within the block, tickets whose due time needs a look are noted and looked at
    together when it ends: one query for a sweep's chunk instead of one a step."""
    noted: dict[int, Ticket] = {}
    token = _DEFERRED.set(noted)
    try:
        yield
    finally:
        _DEFERRED.reset(token)
    _due_refresh_many(list(noted.values()))


def due_refresh(ticket: Ticket) -> None:
    """Keep the ticket's due time (``Ticket.due_at``, the queue's "Due" column; past it the
    ticket is overdue): the earliest of its first answer's target, while it is unanswered
    (the timer armed, or fired and still unanswered), and each waiting escalation's next
    level point (``next_level_percent`` of the group's target). Waiting on the user has no
    due time: the desk's own reminders resolve such a ticket. One query, and an UPDATE when
    it changed; within ``due_refresh_deferred``, later and together with the others."""
    noted = _DEFERRED.get()
    if noted is not None:
        noted[ticket.pk] = ticket
        return
    _due_refresh_many([ticket])


def _due_refresh_many(tickets: list[Ticket]) -> None:
    if not tickets:
        return
    # What the database holds now (a step that rolled back may have left the objects
    # changed): one query.
    fresh = Ticket.objects.in_bulk([t.pk for t in tickets])
    for ticket in tickets:
        row = fresh.get(ticket.pk)
        if row is not None:
            ticket.status, ticket.first_response_at = row.status, row.first_response_at
            ticket.due_at = row.due_at
    tickets = [t for t in tickets if t.pk in fresh]
    open_ones = {t.pk: t for t in tickets if t.status in OPEN_STATUSES}
    tickets_set_due([(t, None) for t in tickets if t.pk not in open_ones])
    timers = Timer.objects.filter(ticket_id__in=list(open_ones)).filter(
        Q(state=TimerState.ARMED, kind=TimerKind.EXPERT_RESPONSE)
        | Q(state__in=[TimerState.ARMED, TimerState.DONE], kind=TimerKind.FIRST_RESPONSE)
    )
    dues: dict[int, list[datetime]] = {pk: [] for pk in open_ones}
    for timer in timers.select_related("escalation") if open_ones else ():
        ticket = open_ones[timer.ticket_id]
        if timer.kind == TimerKind.FIRST_RESPONSE:
            if ticket.first_response_at is None:
                dues[ticket.pk].append(timer.due_at)
            continue
        esc = timer.escalation
        if esc is None or timer.step >= 1 or esc.remind_percent >= esc.next_level_percent:
            dues[ticket.pk].append(timer.due_at)  # the timer's next step is the next level
        else:
            hours = esc.target_hours * esc.next_level_percent / 100
            dues[ticket.pk].append(
                max(
                    timer.due_at,
                    after_working(ticket.team, timer.started_at, hours, esc.calendar_id),
                )
            )
    tickets_set_due([(t, min(dues[pk], default=None)) for pk, t in open_ones.items()])


# --- the sweep ------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a step decided: run (record ``action``) and then re-arm at ``next_due`` or end;
    or only move ``due_at`` (the step is not due yet after all)."""

    action: str = ""
    told: tuple[str, ...] = ()
    outbound_id: int | None = None
    # A mail of the step not written yet (``outbound_later``): the run refers to it.
    outbound: OutboundMail | None = None
    next_due: datetime | None = None  # None: the timer is done
    postpone_to: datetime | None = None  # the step did not run; look again then
    cancelled: bool = False


Step = Callable[[Timer, datetime], Outcome]
STEPS: dict[str, Step] = {}


def step(kind: TimerKind) -> Callable[[Step], Step]:
    def register(fn: Step) -> Step:
        STEPS[kind] = fn
        return fn

    return register


def timers_due(now: datetime, limit: int) -> list[tuple[int, int]]:
    """(pk, version) of armed timers due by ``now``, oldest first. One query on the partial
    index timer_due."""
    return list(
        Timer.objects.filter(state=TimerState.ARMED, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", "version")[:limit]
    )


def timer_sweep(
    *, now: datetime | None = None, limit: int | None = None, budget_s: float | None = None
) -> int:
    """Run every due step; returns how many steps this sweeper ran or ended.

    Steps run TIMER_STEP_CHUNK to a transaction (one commit, one fsync, one claim for the
    chunk; a failing step rolls back alone: see ``_chunk_run``). With the real clock the sweep
    looks again once a batch is done and goes on while there is work and budget
    (``budget_s``, default four sweep intervals): a backlog is worked off at once instead of
    waiting for the next tick, and beat's ticks that arrive meanwhile expire harmlessly."""
    fixed = now is not None
    budget = settings.TIMER_SWEEP_INTERVAL_S * 4 if budget_s is None else budget_s
    started = time.monotonic()
    ran = 0
    while True:
        at = now if fixed else timezone.now()
        assert at is not None
        due = timers_due(at, limit or settings.TIMER_SWEEP_BATCH)
        progress = 0
        for start in range(0, len(due), settings.TIMER_STEP_CHUNK):
            progress += _chunk_run(dict(due[start : start + settings.TIMER_STEP_CHUNK]), at)
        ran += progress
        if fixed or not progress or time.monotonic() - started > budget:
            return ran


@dataclass
class _Later:
    """What a chunk's steps write, held until the chunk's end: their mails to desk people,
    their runs, their timers and the tickets they mark overdue."""

    mails: list[OutboundMail] = field(default_factory=list)
    runs: list[TimerRun] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    overdue: list[tuple[Ticket, datetime]] = field(default_factory=list)

    def write(self) -> None:
        """An INSERT for the mails and one for the runs, an UPDATE for the timers and one
        per instant for the overdue tickets. A run that ran before (the unique constraint)
        fails the whole chunk here, which then runs step by step."""
        outbound_queue_many(self.mails)
        bulk_insert(self.runs)  # after the mails: a run takes its mail's new key
        update_rows(self.timers, TIMER_FIELDS)
        tickets_mark_overdue(self.overdue)


_LATER: ContextVar[_Later | None] = ContextVar("timer_writes_later", default=None)
TIMER_FIELDS = ["state", "ended_at", "step", "due_at", "version"]


@contextlib.contextmanager
def _writes_later() -> Iterator[None]:
    later = _Later()
    token = _LATER.set(later)
    try:
        yield
    finally:
        _LATER.reset(token)
    later.write()


def outbound_later(mail: OutboundMail) -> OutboundMail:
    """Queue a step's mail (built with ``outbound_build``): at the end of the chunk when
    its steps run together (the mail has no key until then: an ``Outcome`` carries it as
    ``outbound``), at once otherwise."""
    later = _LATER.get()
    if later is None:
        return outbound_queue_many([mail])[0]
    later.mails.append(mail)
    return mail


def overdue_later(ticket: Ticket, at: datetime) -> None:
    """``ticket_mark_overdue``, at the end of the chunk when its steps run together."""
    later = _LATER.get()
    if later is None:
        ticket_mark_overdue(ticket=ticket, at=at)
        return
    later.overdue.append((ticket, at))
    ticket.overdue_since = ticket.overdue_since or at


@contextlib.contextmanager
def _chunk_scope(*, together: bool) -> Iterator[None]:
    """One transaction for a chunk of steps; the shift calendar and team settings read
    once; the steps' events and due times written together at its end, and (``together``:
    no step has a savepoint of its own) their runs, timers and mails too, before the due
    times are looked at."""
    later = _writes_later() if together else contextlib.nullcontext()
    with transaction.atomic(), memo_scope(), events_buffered(), due_refresh_deferred(), later:
        yield


def _chunk_run(versions: dict[int, int], now: datetime) -> int:
    """Run a chunk of due steps (``versions``: pk -> the version read). The quick way first:
    all steps in one transaction without a savepoint each. If any step fails, that
    transaction rolls back whole (no write, no mail) and the chunk runs again the careful
    way, each step in a savepoint of its own, so that the broken one fails alone."""
    ran, current = 0, None
    try:
        with _chunk_scope(together=True):
            for timer in _claim(versions, now):
                current = timer.pk
                ran += _step(timer, versions[timer.pk], now)
        return ran
    except Exception:
        log.warning("timer %s failed; running the chunk's steps one by one", current, exc_info=True)
    ran = 0
    with _chunk_scope(together=False):
        for timer in _claim(versions, now):
            forget = events_mark()
            try:
                ran += _step_in_savepoint(timer, versions[timer.pk], now)
            except Exception:
                # One broken timer must not hold up the others; it stays armed and due,
                # so it is tried again on the next sweep (and logged each time).
                forget()
                log.exception("timer %s failed", timer.pk)
    return ran


def timer_step(pk: int, version: int, now: datetime | None = None) -> bool:
    """Claim timer ``pk`` at ``version`` and run its step. False when someone else has it,
    or when the step was only moved (not due after all).

    The claim is a row lock taken with SKIP LOCKED (another sweeper's row is skipped, not
    waited for) on the row as it was read, armed, due and at ``version``; every outcome
    moves the version, so a claim made on a stale read finds nothing. The step's writes,
    its TimerRun (unique per timer and step: the database refuses a second run) and its
    mail are one transaction (a savepoint when the sweep runs steps in chunks)."""
    now = now or timezone.now()
    with transaction.atomic():
        timers = _claim({pk: version}, now)
        return bool(timers) and _step_in_savepoint(timers[0], version, now)


def _claim(versions: dict[int, int], now: datetime) -> list[Timer]:
    """Lock the timers still armed, due and at the version they were read at (``versions``:
    pk -> version); another sweeper's rows are skipped, not waited for. One query."""
    claimable = Q()
    for pk, version in versions.items():
        claimable |= Q(pk=pk, version=version)
    return list(
        Timer.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related(
            "ticket__team", "ticket__requester", "ticket__assignee", "escalation__group"
        )
        .filter(claimable, state=TimerState.ARMED, due_at__lte=now)
        .order_by("due_at")
    )


def _step_in_savepoint(timer: Timer, version: int, now: datetime) -> bool:
    forget = events_mark()
    try:
        with transaction.atomic():
            return _step(timer, version, now)
    except IntegrityError:
        # The step has run before (a replayed claim): its writes and its mail are undone.
        forget()
        log.error("timer %s: step already ran; not again", timer.pk)
        return False


def _step(timer: Timer, version: int, now: datetime) -> bool:
    timer.version = version + 1
    outcome = STEPS[timer.kind](timer, now)
    if outcome.postpone_to is not None:
        timer.due_at = outcome.postpone_to
        timer.save(update_fields=["due_at", "version"])
        due_refresh(timer.ticket)
        return False  # looked at, not run
    if outcome.cancelled:
        timer.state, timer.ended_at = TimerState.CANCELLED, now
        timer.save(update_fields=["state", "ended_at", "version"])
        due_refresh(timer.ticket)
        return True
    run = TimerRun(
        timer=timer,
        step=timer.step,
        due_at=timer.due_at,
        # The moment it really ran (a sweep's batch takes time), never before the instant
        # the sweep was asked about.
        ran_at=max(now, timezone.now()),
        action=outcome.action[:300],
        told=", ".join(outcome.told),
        outbound_id=outcome.outbound_id,
    )
    if outcome.outbound is not None:
        run.outbound = outcome.outbound
    later = _LATER.get()
    if later is None:
        run.save(force_insert=True)
    else:
        later.runs.append(run)
    event_record(
        ticket=timer.ticket,
        kind=EventKind.TIMER_FIRED,
        data={
            "timer": timer.pk,
            "timer_kind": timer.kind,
            "step": timer.step,
            "escalation": timer.escalation_id,
            "action": outcome.action[:300],
            "due_at": timer.due_at.isoformat(),
        },
        at=max(now, timezone.now()),
    )
    if outcome.next_due is None:
        timer.state, timer.ended_at = TimerState.DONE, now
    else:
        timer.step += 1
        timer.due_at = outcome.next_due
    if later is None:
        timer.save(update_fields=TIMER_FIELDS)
    else:
        later.timers.append(timer)
    due_refresh(timer.ticket)
    return True
