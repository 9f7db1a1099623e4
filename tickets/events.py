"""The ticket event log and its consumers.

Every service that changes a ticket records what happened with ``event_record`` (or
``events_record`` for a batch) inside its own transaction. Each consumer registered for the
event's kind gets a delivery row in that same transaction, so a reaction can never be lost
between the change and its consumer: a crash before commit loses both, a crash after commit
leaves the delivery pending for the sweep.

``events_consume`` claims due deliveries (row locks with SKIP LOCKED on PostgreSQL), runs
each consumer in a savepoint of its own and marks the delivery done in the same transaction
as the consumer's effects. A consumer that raises is tried again with backoff and, after
``EVENT_MAX_ATTEMPTS``, parked as failed for an admin to see; it never holds up other
tickets. One ticket's deliveries run in event order for a consumer and for the consumers it
names in ``after``.

After commit a nudge asks a worker to sweep at once; the nudge may be lost (a convenience),
the beat sweep every ``EVENT_SWEEP_INTERVAL_S`` is the guarantee.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypedDict, Unpack

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from common.bulk import bulk_insert
from common.memo import memo_scope
from tickets.models import Ticket
from tickets.models.events import (
    ActorKind,
    DeliveryState,
    EventDelivery,
    EventKind,
    TicketEvent,
)

log = logging.getLogger(__name__)

Handler = Callable[[TicketEvent], None]
BatchHandler = Callable[[list[TicketEvent]], None]


@dataclass(frozen=True)
class Consumer:
    """``handle(event)`` runs inside the sweep's transaction; it must be idempotent (running
    it twice on one event changes nothing the second time)."""

    name: str
    kinds: frozenset[str]
    handle: Handler
    # Consumers whose earlier deliveries on the same ticket must be done first.
    after: tuple[str, ...] = field(default=())
    # Keeps figures from history (the reports' rollups): also gets the events of an archive
    # import, which asks nobody to react.
    history: bool = False
    # The same for a batch of events (at most one per ticket, in event order): a few
    # queries for the whole batch instead of a few per event. When it raises, the sweep
    # runs ``handle`` on each event alone, so that one bad event fails alone.
    handle_many: BatchHandler | None = None


CONSUMERS: dict[str, Consumer] = {}


def consumer_register(
    name: str,
    kinds: Iterable[str],
    handle: Handler,
    *,
    after: Sequence[str] = (),
    history: bool = False,
    handle_many: BatchHandler | None = None,
) -> None:
    """Called explicitly from an AppConfig.ready(); registering a name again replaces it."""
    CONSUMERS[name] = Consumer(name, frozenset(kinds), handle, tuple(after), history, handle_many)


def _consumers_of(kind: str, *, history_only: bool = False) -> list[str]:
    return [
        c.name for c in CONSUMERS.values() if kind in c.kinds and (c.history or not history_only)
    ]


# --- recording ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    user: User | None = None
    label: str = ""


DESK = Actor(ActorKind.DESK)


def actor_person(user: User | None) -> Actor:
    """A signed-in person, or the desk itself when nobody is named."""
    return Actor(ActorKind.PERSON, user, user.get_username()) if user is not None else DESK


def actor_requester(email: str) -> Actor:
    return Actor(ActorKind.REQUESTER, None, email[:254])


def actor_group(name: str) -> Actor:
    return Actor(ActorKind.GROUP, None, name[:254])


def event_build(
    *,
    ticket: Ticket,
    kind: EventKind,
    actor: Actor = DESK,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TicketEvent:
    return TicketEvent(
        ticket_id=ticket.pk,
        team_id=ticket.team_id,
        kind=kind,
        at=at or timezone.now(),
        actor_kind=actor.kind,
        actor=actor.user,
        actor_label=actor.label,
        data=data or {},
    )


class EventFields(TypedDict, total=False):
    """What an event may say beside its ticket and kind (``event_build``'s options)."""

    actor: Actor
    data: dict[str, Any] | None
    at: datetime | None


def event_record(*, ticket: Ticket, kind: EventKind, **fields: Unpack[EventFields]) -> TicketEvent:
    """Record one thing that happened to ``ticket``, in the caller's transaction."""
    return events_record([event_build(ticket=ticket, kind=kind, **fields)])[0]


def events_record(
    events: list[TicketEvent], *, deliver: bool = True, history: bool = False
) -> list[TicketEvent]:
    """Record a batch of events and their deliveries: two INSERTs whatever the size.
    ``deliver=False`` records history only (an archive import asks nobody to react); with
    ``history=True`` as well, the consumers registered with ``history`` (the reports'
    rollups) still get these events."""
    if not events:
        return []
    buffer = _BUFFER.get()
    if buffer is not None:
        buffer.append((events, deliver, history))
        return events
    # No savepoint of its own: the events belong to the caller's transaction.
    with transaction.atomic(savepoint=False):
        bulk_insert(events)
        if not deliver and not history:
            return events
        now = timezone.now()
        deliveries = [
            EventDelivery(
                event_id=event.pk,
                consumer=name,
                ticket_pk=event.ticket_id,
                due_at=now,
                created_at=now,
            )
            for event in events
            for name in _consumers_of(event.kind, history_only=not deliver)
        ]
        if deliveries:
            bulk_insert(deliveries)
            transaction.on_commit(nudge)
    return events


_BUFFER: ContextVar[list[tuple[list[TicketEvent], bool, bool]] | None] = ContextVar(
    "event_buffer", default=None
)


def events_mark() -> Callable[[], None]:
    """A way to forget what is recorded from now on into the open buffer, for when the work
    that recorded it rolls back (no buffer open: nothing to forget)."""
    held = _BUFFER.get()
    if held is None:
        return lambda: None
    mark = len(held)

    def drop() -> None:
        del held[mark:]

    return drop


@contextlib.contextmanager
def events_buffered() -> Iterator[None]:
    """Hold the events recorded in the block and write them, in the caller's transaction,
    when the block ends without an error (with an error, they go with the rollback): two
    INSERTs for a whole chunk of work (a sweep's steps) instead of two a step."""
    held: list[tuple[list[TicketEvent], bool, bool]] = []
    token = _BUFFER.set(held)
    try:
        yield
    finally:
        _BUFFER.reset(token)
    # Written in three groups (to every consumer, to the history ones, to none), in order.
    for deliver, history in ((True, False), (False, True), (False, False)):
        events_record(
            [
                event
                for events, d, h in held
                if d == deliver and (deliver or h == history)
                for event in events
            ],
            deliver=deliver,
            history=history,
        )


# --- consuming ------------------------------------------------------------------------------


# Asks a worker to sweep now (tickets.tasks.events_nudge_task), set by TicketsConfig.ready():
# the tasks module imports this one, never the other way round.
_nudge: Callable[[], object] | None = None


def nudge_set(ask: Callable[[], object]) -> None:
    global _nudge
    _nudge = ask


def nudge() -> None:
    """Ask a worker to sweep now. Replaced by the tests; the beat sweep covers a lost one."""
    if _nudge is None:
        raise ImproperlyConfigured("No event nudge: TicketsConfig.ready() sets it.")
    _nudge()


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(settings.EVENT_RETRY_BASE_S * 2 ** (attempts - 1), 3600))


def _claim(now: datetime, limit: int) -> list[EventDelivery]:
    return list(
        EventDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(state=DeliveryState.PENDING, due_at__lte=now)
        .order_by("event_id")[:limit]
    )


def _blocked(claimed: list[EventDelivery]) -> set[int]:
    """Claimed deliveries that must wait: an earlier event of the same ticket is still
    pending for the same consumer, or this event or an earlier one for a consumer it runs
    after (a consumer that reacts to the same event as routing sees the routed ticket).
    One query."""
    names = {d.consumer for d in claimed}
    for d in claimed:
        consumer = CONSUMERS.get(d.consumer)
        names.update(consumer.after if consumer else ())
    earliest: dict[tuple[int, str], int] = {
        (row["ticket_pk"], row["consumer"]): row["first"]
        for row in EventDelivery.objects.filter(
            state=DeliveryState.PENDING,
            ticket_pk__in={d.ticket_pk for d in claimed},
            consumer__in=names,
        )
        .values("ticket_pk", "consumer")
        .annotate(first=Min("event_id"))
    }
    blocked = set()
    for d in claimed:
        consumer = CONSUMERS.get(d.consumer)
        first = earliest.get((d.ticket_pk, d.consumer), d.event_id)
        if first < d.event_id or any(
            earliest.get((d.ticket_pk, name), d.event_id + 1) <= d.event_id
            for name in (consumer.after if consumer else ())
        ):
            blocked.add(d.pk)
    return blocked


def _run(delivery: EventDelivery, event: TicketEvent, now: datetime) -> bool:
    """One delivery in a savepoint; True when done."""
    consumer = CONSUMERS.get(delivery.consumer)
    try:
        with transaction.atomic():
            if consumer is None:
                raise LookupError(f"no consumer named {delivery.consumer!r} is registered")
            consumer.handle(event)
    except Exception as exc:
        log.exception("event %s: consumer %s failed", event.pk, delivery.consumer)
        delivery.attempts += 1
        delivery.last_error = f"{exc.__class__.__name__}: {exc}"[:2000]
        delivery.due_at = now + _backoff(delivery.attempts)
        if delivery.attempts >= settings.EVENT_MAX_ATTEMPTS:
            delivery.state = DeliveryState.FAILED
        delivery.save(update_fields=["attempts", "last_error", "due_at", "state"])
        return False
    return True


def _run_many(
    consumer: Consumer, deliveries: list[EventDelivery], events: dict[int, TicketEvent]
) -> bool:
    """A consumer's batch in one savepoint; False when it raised (nothing of it is kept) or
    the consumer takes one event at a time."""
    if consumer.handle_many is None:
        return False
    try:
        with transaction.atomic():
            consumer.handle_many([events[d.event_id] for d in deliveries])
    except Exception:
        log.exception("consumer %s failed on a batch; running its events one by one", consumer.name)
        return False
    return True


def events_consume_batch(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Claim up to ``limit`` due deliveries and run them in one transaction, each consumer's
    share together (``handle_many``) when it can. Returns how many were looked at (done,
    failed or waiting on an earlier event)."""
    now = now or timezone.now()
    with transaction.atomic(), memo_scope():
        claimed = _claim(now, limit or settings.EVENT_SWEEP_BATCH)
        if not claimed:
            return 0
        blocked = _blocked(claimed)
        # At most one delivery per ticket and consumer is ready (a later one waits for the
        # earlier), and none waits on another ready one: the groups may run in any order.
        ready = [d for d in claimed if d.pk not in blocked]
        events = TicketEvent.objects.select_related("ticket__team", "ticket__requester").in_bulk(
            [d.event_id for d in ready]
        )
        groups: dict[str, list[EventDelivery]] = {}
        for d in ready:
            groups.setdefault(d.consumer, []).append(d)
        done: list[int] = []
        for name, deliveries in groups.items():
            consumer = CONSUMERS.get(name)
            if consumer is not None and _run_many(consumer, deliveries, events):
                done.extend(d.pk for d in deliveries)
                continue
            done.extend(d.pk for d in deliveries if _run(d, events[d.event_id], now))
        EventDelivery.objects.filter(pk__in=done).update(
            state=DeliveryState.DONE, done_at=timezone.now()
        )
    return len(ready)


def events_consume(*, now: datetime | None = None, budget_s: float | None = None) -> int:
    """Work off every due delivery, batch after batch, within ``budget_s`` (default four
    sweep intervals). Returns how many deliveries were run."""
    budget = settings.EVENT_SWEEP_INTERVAL_S * 4 if budget_s is None else budget_s
    started = time.monotonic()
    ran = 0
    while True:
        progress = events_consume_batch(now=now)
        ran += progress
        if not progress or time.monotonic() - started > budget:
            return ran


def events_lag(now: datetime | None = None) -> dict[str, float]:
    """Per consumer, the age in seconds of its oldest pending delivery (consumers with none
    pending are missing). One query."""
    now = now or timezone.now()
    rows = (
        EventDelivery.objects.filter(state=DeliveryState.PENDING)
        .values("consumer")
        .annotate(oldest=Min("created_at"))
    )
    return {row["consumer"]: max(0.0, (now - row["oldest"]).total_seconds()) for row in rows}


def events_failed_count() -> int:
    return EventDelivery.objects.filter(state=DeliveryState.FAILED).count()


def delivery_retry(*, delivery: EventDelivery) -> None:
    """An admin sends a failed delivery round again."""
    EventDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.FAILED).update(
        state=DeliveryState.PENDING, attempts=0, due_at=timezone.now()
    )
    transaction.on_commit(nudge)
