"""Archive import: past mail into tickets, with its own dates and threads, and no replies.

Built for DAST's 135,513-message archive: mail is parsed with the same parser as live intake
and threaded by the same rules (``tickets.mail.batch``), but written in batches — one
transaction and a handful of multi-row INSERTs per batch instead of a dozen queries per
message, with parsing in worker processes a batch ahead. Every message is kept raw, a
copy of a mail the desk has (tickets.mail.duplicates) as a duplicate that opens nothing;
the same bytes at the same place (file and position) are skipped, so an interrupted import
run again picks up where it stopped.

Imported tickets are history: a ticket whose last mail is older than ``open_days`` is closed
at that date; newer ones stay open for the shifters: when the import ends, each is announced
in the event log (``IMPORTED_OPEN``), which routing consumes to give it to whoever is on
shift. Nothing is acknowledged: its requester wrote long ago.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from common.bulk import bulk_insert
from people.models import Team
from tickets.events import Actor, actor_requester, event_build, events_record
from tickets.mail.batch import BatchFiler, Caps, Item, Thread, prepare
from tickets.mail.duplicates import duplicates_mark
from tickets.mail.mailstore import is_own
from tickets.mail.parse import Noise
from tickets.models import OPEN_STATUSES, RawMessage, RawState, Status, Tag, Ticket
from tickets.models.events import ActorKind, EventKind, TicketEvent
from tickets.models.mail import RawSource

_PR_SET_PDEATHSIG = 1  # prctl(2)
OUTCOME_KEYS = (
    "imported", "joined", "new_tickets", "duplicates", "rejected", "failed", "oversize",
    "dropped_attachments",
)  # fmt: skip


@dataclass
class ArchiveImporter(BatchFiler):
    open_days: int = 14
    counts: Counter[str] = field(default_factory=lambda: Counter(dict.fromkeys(OUTCOME_KEYS, 0)))

    def __post_init__(self) -> None:
        super().__post_init__()
        self.tags: dict[str, Tag] = {}
        self.labelled: list[tuple[Thread, tuple[str, ...]]] = []

    def import_batch(self, prepared: list[Item]) -> None:
        items = self._fresh(prepared)
        with transaction.atomic():
            duplicates_mark(team=self.team, items=items)
            self.load_threads(items)
            new_threads: list[Thread] = []
            for item in items:
                if item.outcome != "duplicate":
                    self._decide(item, new_threads)
            self._save(items, new_threads)

    def _fresh(self, items: list[Item]) -> list[Item]:
        """Drop what an earlier run stored: the same bytes from the same place."""
        origins = {i.origin[:500] for i in items}
        stored = set(
            RawMessage.objects.filter(
                team=self.team, source=RawSource.IMPORT, origin__in=origins
            ).values_list("origin", "sha256")
        )
        fresh = []
        for item in items:
            key = (item.origin[:500], item.sha256)
            if key in stored:
                self.counts["duplicates"] += 1
                continue
            stored.add(key)
            fresh.append(item)
        return fresh

    def _decide(self, item: Item, new_threads: list[Thread]) -> None:
        parsed = item.parsed
        if parsed is None:
            item.outcome = "failed"
            return
        if is_own(parsed, self.own):
            item.outcome, item.error = "rejected", "our own mail"
            return
        thread, match = self.find(parsed)
        if parsed.noise != Noise.NONE and thread is None:
            item.outcome, item.error = "rejected", f"{parsed.noise}: not part of a ticket"
            return
        at = parsed.date or self.now
        if thread is not None and match is not None and match.how == "referenced":
            self.heal(parsed, thread, at)
        if thread is None:
            thread = self.open(parsed, at)
            new_threads.append(thread)
            item.outcome = "new_tickets"
        else:
            item.outcome = "joined"
            if parsed.noise == Noise.NONE:  # an auto-reply is not activity on the ticket
                sender = parsed.sender.email.lower() if parsed.sender else ""
                thread.last_at = max(thread.last_at, at)
                if sender != thread.requester_email and thread.first_response_at is None:
                    thread.first_response_at = max(at, thread.created_at)
                self.dirty[id(thread)] = thread
        self.remember(item, thread, at)
        if parsed.labels:
            self.labelled.append((thread, parsed.labels))

    def _settle(self, thread: Thread) -> None:
        ticket = thread.ticket
        ticket.last_message_at = thread.last_at
        ticket.first_response_at = thread.first_response_at
        if thread.last_at < self.now - timedelta(days=self.open_days):
            ticket.status = Status.CLOSED
            ticket.resolved_at = ticket.closed_at = thread.last_at
        else:
            ticket.status = Status.OPEN if thread.first_response_at else Status.NEW
            ticket.resolved_at = ticket.closed_at = None

    def _save(self, items: list[Item], new_threads: list[Thread]) -> None:
        stamp = timezone.now()
        states = {
            "failed": RawState.FAILED,
            "rejected": RawState.IGNORED,
            "duplicate": RawState.DUPLICATE,
        }
        for item in items:
            parsed = item.parsed
            item.row = RawMessage(
                team=self.team,
                source=RawSource.IMPORT,
                origin=item.origin[:500],
                message_id=item.message_id,
                sha256=item.sha256,
                fingerprint=item.fingerprint,
                size=len(item.raw),
                oversize=bool(parsed and parsed.oversize),
                raw=item.raw,
                state=states.get(item.outcome, RawState.PROCESSED),
                note=item.raw_note(),
                processed_at=stamp,
            )
            if item.outcome == "duplicate":
                self.counts["duplicates"] += 1
                continue
            self.counts["imported"] += 1
            self.counts[item.outcome] += 1
            if parsed is not None:
                self.counts["oversize"] += parsed.oversize
                self.counts["dropped_attachments"] += sum(
                    bool(a.dropped) for a in parsed.attachments
                )
        # A duplicate points at its original, which may be in this batch: originals first.
        bulk_insert([i.row for i in items if i.row is not None and i.original is None])
        for item in items:
            if item.row is not None and item.original is not None:
                item.row.duplicate_of = item.original_row()
        bulk_insert([i.row for i in items if i.row is not None and i.original is not None])
        for thread in new_threads:
            self._settle(thread)
        self.save_new_tickets(new_threads)
        self.save_messages(items)
        dirty = self.take_dirty()
        for thread in dirty:
            self._settle(thread)
        Ticket.objects.bulk_update(
            [t.ticket for t in dirty],
            [
                "last_message_at",
                "first_response_at",
                "status",
                "resolved_at",
                "closed_at",
                "requester",
                "created_at",
                "subject",
            ],
        )
        self._save_labels()
        self._record(items, new_threads)

    def _record(self, items: list[Item], new_threads: list[Thread]) -> None:
        """The batch's history in the event log, with the mails' own dates: nobody reacts
        (no routing, no acknowledgement), but the consumers that keep figures get each
        ticket the batch touched once, on its last event (they read the whole ticket)."""
        events: list[TicketEvent] = []
        for item in items:
            thread, message = item.thread, item.message
            if thread is None or message is None or message.pk is None:
                continue
            ticket, at = thread.ticket, message.created_at
            sender = message.sender_email.lower()
            if item.outcome == "new_tickets":
                kind, data = EventKind.OPENED, {"message": message.pk, "channel": "archive"}
            else:
                kind, data = EventKind.MESSAGE_RECEIVED, {"message": message.pk}
                if message.noise == "none" and sender != thread.requester_email:
                    kind = EventKind.REPLY_SENT  # someone answered the requester on the list
            actor = (
                actor_requester(sender)
                if kind != EventKind.REPLY_SENT
                else Actor(ActorKind.PERSON, None, sender[:254])
            )
            events.append(event_build(ticket=ticket, kind=kind, actor=actor, data=data, at=at))
        for thread in new_threads:
            if thread.ticket.status == Status.CLOSED:
                closed = {"old": str(Status.NEW), "new": str(Status.CLOSED), "imported": True}
                events.append(
                    event_build(
                        ticket=thread.ticket,
                        kind=EventKind.STATUS_CHANGED,
                        data=closed,
                        at=thread.last_at,
                    )
                )
        events += self.requester_events()
        last: dict[int, int] = {event.ticket_id: n for n, event in enumerate(events)}
        told = set(last.values())
        events_record([e for n, e in enumerate(events) if n not in told], deliver=False)
        events_record([events[n] for n in sorted(told)], deliver=False, history=True)

    def _save_labels(self) -> None:
        """Gmail labels become the tickets' tags."""
        names = {name for _, labels in self.labelled for name in labels} - self.tags.keys()
        if names:
            Tag.objects.bulk_create(
                [Tag(team=self.team, name=n) for n in names], ignore_conflicts=True
            )
            self.tags.update(
                (tag.name, tag) for tag in Tag.objects.filter(team=self.team, name__in=names)
            )
        through = Ticket.tags.through
        Ticket.tags.through.objects.bulk_create(
            [
                through(ticket_id=thread.ticket.pk, tag_id=self.tags[name].pk)
                for thread, labels in self.labelled
                for name in labels
            ],
            ignore_conflicts=True,
        )
        self.labelled.clear()


def _parser_start(parent: int) -> None:
    """Set up a forked parser process. It inherited this process's database socket: close its
    copy, or an importer killed mid-batch would leave its transaction (and the team's ticket
    counter) locked for as long as the parsers live. And die with the importer."""
    with contextlib.suppress(OSError, AttributeError):  # prctl is Linux only
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(0)
    for conn in connections.all(initialized_only=True):
        socket = getattr(conn, "connection", None)
        if socket is not None:
            with contextlib.suppress(Exception):
                os.close(socket.fileno())


def _prepare_chunk(chunk: list[tuple[str, bytes]], caps: Caps, *, keep_raw: bool) -> list[Item]:
    """Runs in a parser process: no database here, only bytes in and dataclasses out. The raw
    bytes are not sent back: the caller still has them."""
    items = [prepare(origin, raw, caps) for origin, raw in chunk]
    if not keep_raw:
        for item in items:
            item.raw = b""
    return items


def _chunks(pairs: Iterable[tuple[str, bytes]], size: int) -> Iterator[list[tuple[str, bytes]]]:
    iterator = iter(pairs)
    while chunk := list(islice(iterator, size)):
        yield chunk


def archive_import(
    *,
    team: Team,
    messages: Iterable[tuple[str, bytes]],
    batch: int = 500,
    open_days: int = 14,
    parsers: int = 1,
    progress: Callable[[Counter[str]], None] | None = None,
) -> Counter[str]:
    """Import (origin, raw) pairs; returns the counts of the summary line.

    With ``parsers`` > 0, parsing runs in that many processes, a batch ahead of the database
    writes, so that the two overlap; 0 parses in this process."""
    importer = ArchiveImporter(team, open_days=open_days)
    caps = Caps(
        settings.MAIL_MAX_ATTACHMENT_BYTES,
        settings.MAIL_MAX_TOTAL_ATTACHMENT_BYTES,
        importer.now,
        settings.MAIL_MAX_RAW_BYTES,
    )

    def write(items: list[Item]) -> None:
        importer.import_batch(items)
        if progress:
            progress(importer.counts)

    if parsers <= 0:
        for chunk in _chunks(messages, batch):
            write(_prepare_chunk(chunk, caps, keep_raw=True))
        return importer.counts
    # fork: the parser processes need nothing but the pure parser, already imported here.
    with ProcessPoolExecutor(
        parsers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_parser_start,
        initargs=(os.getpid(),),
    ) as pool:
        ahead: deque[tuple[list[tuple[str, bytes]], Future[list[Item]]]] = deque()

        def write_next() -> None:
            chunk, future = ahead.popleft()
            items = future.result()
            for item, (_, raw) in zip(items, chunk, strict=True):
                item.raw = raw
            write(items)

        for chunk in _chunks(messages, batch):
            ahead.append((chunk, pool.submit(_prepare_chunk, chunk, caps, keep_raw=False)))
            if len(ahead) > parsers:
                write_next()
        while ahead:
            write_next()
    return importer.counts


def imported_open_announce(*, team: Team, at: datetime | None = None) -> int:
    """Announce the imported tickets still open and unassigned, once each (also when an
    import runs again): routing gives them to whoever is on shift, as a new ticket, but
    sends no acknowledgement. Returns how many."""
    at = at or timezone.now()
    with transaction.atomic():
        tickets = list(
            Ticket.objects.filter(
                team=team,
                status__in=OPEN_STATUSES,
                assignee=None,
                merged_into=None,
                events__kind=EventKind.OPENED,
                events__data__channel="archive",
            )
            .exclude(events__kind=EventKind.IMPORTED_OPEN)
            .distinct()
            .only("pk", "team_id")
        )
        events_record([event_build(ticket=t, kind=EventKind.IMPORTED_OPEN, at=at) for t in tickets])
    return len(tickets)
