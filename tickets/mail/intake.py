"""Live intake: stored raw mail -> parsed, threaded, filed; what happened recorded as ticket
events in the same transaction (routing and acknowledgements consume them, not the fetcher).

    raw_store(...)          -> the raw bytes, every delivery, unique by mailbox +
                               UIDVALIDITY + UID (tickets.mail.mailstore); a copy of a
                               mail already filed is marked duplicate when it is processed
                               (tickets.mail.duplicates)
    intake_process(raws)    -> a batch of stored mail filed in one transaction
    raw_process(raw)        -> the same for one mail

A crash between storing and processing loses nothing: stored mail still marked new is
processed again, and processing locks its rows and skips any that are no longer new.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.bulk import update_grouped
from people.models import Team
from tickets.events import actor_requester, event_build, events_record
from tickets.mail.batch import BatchFiler, Caps, Item, Thread, prepare, prepare_file
from tickets.mail.duplicates import duplicates_mark
from tickets.mail.mailstore import is_own, raw_copy_into, raw_message_id, raw_store
from tickets.mail.parse import Noise
from tickets.models import (
    LinkKind,
    Message,
    RawMessage,
    RawState,
    Requester,
    Status,
    Ticket,
    TicketLink,
)
from tickets.models.events import EventKind

__all__ = ["IntakeResult", "intake_process", "raw_message_id", "raw_process", "raw_store"]
CLOSED = (Status.RESOLVED, Status.CLOSED)


@dataclass(frozen=True)
class IntakeResult:
    outcome: str  # new_ticket | joined | reopened | follow_up | attached | ignored | failed
    # | duplicate
    raw: RawMessage
    ticket: Ticket | None = None
    message: Message | None = None
    note: str = ""


@dataclass
class LiveIntake(BatchFiler):
    received_at: datetime | None = None
    announce: bool = True

    def process(
        self, raws: list[RawMessage], files: Mapping[int, BinaryIO] | None = None
    ) -> list[IntakeResult]:
        at = self.received_at or timezone.now()
        caps = Caps(
            settings.MAIL_MAX_ATTACHMENT_BYTES,
            settings.MAIL_MAX_TOTAL_ATTACHMENT_BYTES,
            at,
            settings.MAIL_MAX_RAW_BYTES,
        )
        items = [_prepare_row(raw, (files or {}).get(raw.pk), caps) for raw in raws]
        with transaction.atomic():
            # Lock the rows; any no longer new were filed by someone else meanwhile.
            new = set(
                RawMessage.objects.select_for_update()
                .filter(pk__in=[r.pk for r in raws], state=RawState.NEW)
                .values_list("pk", flat=True)
            )
            todo = [i for i in items if i.row is not None and i.row.pk in new]
            duplicates_mark(team=self.team, items=todo)
            self.load_threads(todo)
            self.links: list[TicketLink] = []
            self.bouncing: set[str] = set()
            new_threads: list[Thread] = []
            for item in todo:
                if item.outcome != "duplicate":
                    self._decide(item, new_threads, at)
            self._save(todo, new_threads)
        return [self._result(item, item.row.pk in new) for item in items if item.row]

    # -- deciding ----------------------------------------------------------------------------
    def _decide(self, item: Item, new_threads: list[Thread], at: datetime) -> None:
        parsed = item.parsed
        if parsed is None:
            item.outcome = "failed"
            return
        if is_own(parsed, self.own):
            item.outcome, item.error = "ignored", "our own mail"
            return
        thread, match = self.find(parsed)
        if parsed.noise != Noise.NONE:
            if parsed.noise == Noise.BOUNCE and parsed.bounce is not None:
                self.bouncing.update(parsed.bounce.recipients)
            if thread is None:
                item.outcome, item.error = "ignored", f"{parsed.noise}: not part of a ticket"
                return
            # Kept on its ticket, quietly: no activity, no status change, no answer.
            item.outcome, item.error = "attached", f"{parsed.noise} kept on the ticket"
            self.remember(item, thread, at)
            return
        if thread is None:
            thread = self._new(item, new_threads, at)
            if match is not None:
                # Quoting someone else's ticket number does not give access to it.
                item.error = f"stranger quoting {match.ticket.reference}"
                self._link(thread, match.ticket, LinkKind.RELATED)
            return
        if match is not None and match.how == "referenced":
            self.heal(parsed, thread, at)
        ticket = thread.ticket
        if ticket.status in CLOSED:
            closed_at = ticket.closed_at or ticket.resolved_at or ticket.last_message_at
            if at - closed_at > timedelta(days=settings.REOPEN_WINDOW_DAYS):
                follow_up = self._new(item, new_threads, at)
                item.outcome, item.error = "follow_up", f"follow-up of {ticket.reference}"
                self._link(follow_up, ticket, LinkKind.FOLLOW_UP)
                return
            ticket.status = Status.OPEN
            ticket.resolved_at = ticket.closed_at = None
            ticket.reopen_count += 1
            item.outcome = "reopened"
        else:
            if ticket.status == Status.WAITING_ON_USER:
                ticket.status = Status.OPEN
            item.outcome = "joined"
        # The owner's queue shows "new reply" until they open the ticket.
        ticket.unseen_reply_at = at
        thread.last_at = max(thread.last_at, at)
        self.dirty[id(thread)] = thread
        self.remember(item, thread, at)

    def _new(self, item: Item, new_threads: list[Thread], at: datetime) -> Thread:
        assert item.parsed is not None
        thread = self.open(item.parsed, at)
        new_threads.append(thread)
        item.outcome = "new_ticket"
        self.remember(item, thread, at)
        return thread

    def _link(self, thread: Thread, other: Ticket, kind: LinkKind) -> None:
        self.links.append(TicketLink(from_ticket=thread.ticket, to_ticket=other, kind=kind))

    # -- writing -----------------------------------------------------------------------------
    def _save(self, items: list[Item], new_threads: list[Thread]) -> None:
        stamp = timezone.now()
        states = {
            "failed": RawState.FAILED,
            "ignored": RawState.IGNORED,
            "duplicate": RawState.DUPLICATE,
        }
        for item in items:
            assert item.row is not None
            item.row.state = states.get(item.outcome, RawState.PROCESSED)
            item.row.note = item.raw_note()
            item.row.processed_at = stamp
        update_grouped(
            [i.row for i in items if i.row is not None], ["state", "note", "processed_at"]
        )
        self.save_raw_findings(items)
        self.save_new_tickets(new_threads)
        self.save_messages(items)
        dirty = self.take_dirty()
        for thread in dirty:
            thread.ticket.last_message_at = thread.last_at
        update_grouped(
            [t.ticket for t in dirty],
            [
                "status",
                "resolved_at",
                "closed_at",
                "reopen_count",
                "last_message_at",
                "unseen_reply_at",
                "requester_id",
                "created_at",
                "subject",
                "first_response_at",
            ],
        )
        TicketLink.objects.bulk_create(self.links, ignore_conflicts=True)
        if self.bouncing:
            Requester.objects.filter(email__in=self.bouncing, bouncing_since__isnull=True).update(
                bouncing_since=stamp
            )
        self._record(items)

    def _record(self, items: list[Item]) -> None:
        """What happened, in this transaction: tickets opened, reopened, mail received.
        A reopening comes before its message, so routing gives the message to this shift's
        owner."""
        events = []
        for item in items:
            if item.message is None or item.thread is None:
                continue
            ticket, message = item.thread.ticket, item.message
            actor, at = actor_requester(message.sender_email), message.created_at
            if item.outcome in ("new_ticket", "follow_up"):
                opened = {"message": message.pk, "channel": "email"}
                events.append(
                    event_build(
                        ticket=ticket, kind=EventKind.OPENED, actor=actor, data=opened, at=at
                    )
                )
            elif item.outcome in ("joined", "reopened"):
                if item.outcome == "reopened":
                    reopened = event_build(
                        ticket=ticket, kind=EventKind.REOPENED, actor=actor, at=at
                    )
                    events.append(reopened)
                events.append(
                    event_build(
                        ticket=ticket,
                        kind=EventKind.MESSAGE_RECEIVED,
                        actor=actor,
                        data={"message": message.pk},
                        at=at,
                    )
                )
        events_record(events + self.requester_events(), deliver=self.announce)

    def _result(self, item: Item, filed: bool) -> IntakeResult:
        assert item.row is not None
        if not filed:
            return IntakeResult("ignored", item.row, note="already processed")
        ticket = item.thread.ticket if item.thread else None
        return IntakeResult(item.outcome, item.row, ticket, item.message, item.error)


def _prepare_row(raw: RawMessage, fp: BinaryIO | None, caps: Caps) -> Item:
    """Parse a stored mail: a big one from its file (the fetcher's copy, or one read from
    the database piece by piece), never loaded whole."""
    big = raw.size > settings.MAIL_STREAM_RAW_BYTES and "raw" in raw.get_deferred_fields()
    with ExitStack() as cleanup:
        if fp is None and big:
            fp = cleanup.enter_context(tempfile.TemporaryFile())
            raw_copy_into(raw, fp)
        if fp is not None:
            item = prepare_file(str(raw.pk), fp, size=raw.size, sha256=raw.sha256, caps=caps)
        else:
            item = prepare(str(raw.pk), bytes(raw.raw), caps)
    item.row = raw
    return item


def intake_process(
    team: Team,
    raws: list[RawMessage],
    *,
    received_at: datetime | None = None,
    announce: bool = True,
    files: Mapping[int, BinaryIO] | None = None,
) -> list[IntakeResult]:
    """File a batch of stored mail of one team in one transaction. ``files``: the raw of a
    big mail by row id, in a file (it is then parsed from there, not from the row)."""
    if not raws:
        return []
    filer = LiveIntake(team, lock_tickets=True, received_at=received_at, announce=announce)
    return filer.process(raws, files)


def raw_process(
    raw: RawMessage, *, received_at: datetime | None = None, announce: bool = True
) -> IntakeResult:
    """File one stored mail (``received_at``: its arrival; default now)."""
    return intake_process(raw.team, [raw], received_at=received_at, announce=announce)[0]
