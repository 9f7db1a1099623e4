"""Archive import: past mail into tickets, with its own dates and threads, and no replies.

Built for DAST's 135,513-message archive: mail is parsed with the same parser as live intake
and threaded by the same rules (``tickets.mail.thread``), but written in batches — one
transaction and a handful of bulk INSERTs per batch instead of a dozen queries per message.
Every message is kept raw (a duplicate by Message-ID, or by content when it has none, is
skipped), so an interrupted import run again picks up where it stopped.

Imported tickets are history: a ticket whose last mail is older than ``open_days`` is closed
at that date; newer ones stay open for the shifters. Nothing is acknowledged or routed.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tickets.mail.parse import MailParseError, Noise, ParsedMail, parse_message
from tickets.mail.thread import needs_lookup_by_address_or_tag, reference_ids, thread_find
from tickets.models import (
    Message,
    MessageKind,
    OutboundMail,
    RawMessage,
    RawState,
    Requester,
    Status,
    Team,
    Ticket,
)
from tickets.models.mail import RawSource
from tickets.services.bulk import bulk_insert
from tickets.services.intake import raw_message_id, store_attachments, team_own_addresses

OUTCOME_KEYS = ("imported", "joined", "new_tickets", "duplicates", "rejected", "failed")


@dataclass
class _Thread:
    """What the importer tracks of a ticket across batches (not the whole row)."""

    ticket: Ticket
    requester_email: str
    created_at: datetime
    last_at: datetime
    first_response_at: datetime | None = None
    messages: int = 0


@dataclass
class _Item:
    origin: str
    raw: bytes
    message_id: str
    sha256: str
    parsed: ParsedMail | None = None
    error: str = ""
    row: RawMessage | None = None
    message: Message | None = None
    outcome: str = ""


@dataclass
class ArchiveImporter:
    team: Team
    open_days: int = 14
    now: datetime = field(default_factory=timezone.now)
    counts: Counter[str] = field(default_factory=lambda: Counter(dict.fromkeys(OUTCOME_KEYS, 0)))

    def __post_init__(self) -> None:
        self.own = team_own_addresses(self.team)
        self.thread_of: dict[str, _Thread] = {}  # Message-ID -> its thread
        self.threads: dict[int, _Thread] = {}  # ticket pk -> thread, for tickets seen
        self.requesters: dict[str, Requester] = {}
        self.dirty: dict[int, _Thread] = {}  # earlier tickets this batch added to, by id()

    # -- the batch ---------------------------------------------------------------------------
    def import_batch(self, prepared: list[_Item]) -> None:
        items = self._fresh(prepared)
        with transaction.atomic():
            self._load_threads(items)
            new_threads: list[_Thread] = []
            for item in items:
                self._decide(item, new_threads)
            self._save(items, new_threads)

    def _fresh(self, items: list[_Item]) -> list[_Item]:
        """Drop what is already stored, or twice in this batch."""
        ids = {i.message_id for i in items if i.message_id}
        digests = {i.sha256 for i in items if not i.message_id}
        stored = RawMessage.objects.filter(team=self.team)
        seen = set(stored.filter(message_id__in=ids).values_list("message_id", flat=True))
        seen |= set(
            stored.filter(message_id="", sha256__in=digests).values_list("sha256", flat=True)
        )
        fresh = []
        for item in items:
            key = item.message_id or item.sha256
            if key in seen:
                self.counts["duplicates"] += 1
                continue
            seen.add(key)
            fresh.append(item)
        return fresh

    def _load_threads(self, items: list[_Item]) -> None:
        """One query for every earlier message this batch refers to."""
        wanted = {
            mid
            for item in items
            if item.parsed
            for mid in reference_ids(item.parsed)
            if mid not in self.thread_of
        }
        if not wanted:
            return
        pairs = list(
            Message.objects.filter(team=self.team, message_id__in=wanted).values_list(
                "message_id", "ticket_id"
            )
        ) + list(
            OutboundMail.objects.filter(team=self.team, message_id__in=wanted)
            .exclude(ticket=None)
            .values_list("message_id", "ticket_id")
        )
        missing = {pk for _, pk in pairs if pk not in self.threads}
        for ticket in Ticket.objects.filter(pk__in=missing).select_related("requester"):
            self.threads[ticket.pk] = self._track(ticket)
        for mid, pk in pairs:
            self.thread_of[mid] = self.threads[pk]

    def _track(self, ticket: Ticket) -> _Thread:
        return _Thread(
            ticket,
            ticket.requester.email.lower(),
            ticket.created_at,
            ticket.last_message_at,
            ticket.first_response_at,
        )

    # -- deciding each mail ------------------------------------------------------------------
    def _decide(self, item: _Item, new_threads: list[_Thread]) -> None:
        parsed = item.parsed
        if parsed is None:
            item.outcome = "failed"
            return
        sender = parsed.sender.email.lower() if parsed.sender else ""
        local, _, domain = sender.partition("@")
        if sender in self.own or f"{local.split('+')[0]}@{domain}" in self.own:
            item.outcome, item.error = "rejected", "our own mail"
            return
        thread = self._find(parsed)
        if parsed.noise != Noise.NONE and thread is None:
            item.outcome, item.error = "rejected", f"{parsed.noise}: not part of a ticket"
            return
        at = parsed.date or self.now
        if thread is None:
            thread = self._open(parsed, at)
            new_threads.append(thread)
            item.outcome = "new_tickets"
        else:
            item.outcome = "joined"
            self._follow(thread, sender, at, noise=parsed.noise != Noise.NONE)
        item.message = _message(self.team, thread.ticket, parsed, at)
        thread.messages += 1
        if parsed.message_id:
            self.thread_of[parsed.message_id] = thread

    def _find(self, parsed: ParsedMail) -> _Thread | None:
        for mid in reference_ids(parsed):
            if mid in self.thread_of:
                return self.thread_of[mid]
        if needs_lookup_by_address_or_tag(self.team, parsed):
            match = thread_find(self.team, parsed)  # the live rules, stranger check included
            if match is not None and not match.stranger:
                return self.threads.setdefault(match.ticket.pk, self._track(match.ticket))
        return None

    def _open(self, parsed: ParsedMail, at: datetime) -> _Thread:
        sender = parsed.sender
        email = (sender.email if sender and sender.email else "unknown@invalid").lower()
        ticket = Ticket(
            team=self.team,
            subject=parsed.subject.strip()[:500] or "(no subject)",
            created_at=at,
            last_message_at=at,
        )
        ticket._requester_name = sender.name if sender else ""  # type: ignore[attr-defined]
        return _Thread(ticket, email, at, at)

    def _follow(self, thread: _Thread, sender: str, at: datetime, *, noise: bool) -> None:
        if noise:
            return  # an auto-reply is not activity on the ticket
        if at > thread.last_at:
            thread.last_at = at
        if sender != thread.requester_email and thread.first_response_at is None:
            thread.first_response_at = max(at, thread.created_at)
        self.dirty[id(thread)] = thread

    # -- writing -----------------------------------------------------------------------------
    def _save(self, items: list[_Item], new_threads: list[_Thread]) -> None:
        stamp = timezone.now()
        for item in items:
            failed, rejected = item.outcome == "failed", item.outcome == "rejected"
            state = (
                RawState.FAILED if failed else RawState.IGNORED if rejected else RawState.PROCESSED
            )
            item.row = RawMessage(
                team=self.team,
                source=RawSource.IMPORT,
                origin=item.origin[:500],
                message_id=item.message_id,
                sha256=item.sha256,
                size=len(item.raw),
                raw=item.raw,
                state=state,
                note=item.error,
                processed_at=stamp,
            )
            self.counts["imported"] += 1
            self.counts[item.outcome] += 1
        bulk_insert([i.row for i in items if i.row is not None])
        self._save_requesters(new_threads)
        self._number(new_threads)
        for thread in new_threads:
            self._settle(thread)
        Ticket.objects.bulk_create([t.ticket for t in new_threads])
        for thread in new_threads:
            self.threads[thread.ticket.pk] = thread
        messages = []
        for item in items:
            if item.message is not None:
                item.message.raw = item.row
                messages.append(item.message)
        bulk_insert(messages)
        for item in items:
            if item.message is not None and item.parsed and item.parsed.attachments:
                store_attachments(item.message, item.parsed.attachments)
        self._update_old_threads(new_threads)

    def _save_requesters(self, threads: list[_Thread]) -> None:
        emails = {t.requester_email for t in threads} - self.requesters.keys()
        if emails:
            names = {t.requester_email: t.ticket._requester_name for t in threads}  # type: ignore[attr-defined]
            Requester.objects.bulk_create(
                [Requester(email=e, name=names.get(e, "")[:200]) for e in emails],
                ignore_conflicts=True,
            )
            for requester in Requester.objects.filter(email__in=emails):
                self.requesters[requester.email.lower()] = requester
        for thread in threads:
            thread.ticket.requester = self.requesters[thread.requester_email]

    def _number(self, threads: list[_Thread]) -> None:
        if not threads:
            return
        Team.objects.filter(pk=self.team.pk).update(
            last_ticket_number=F("last_ticket_number") + len(threads)
        )
        last = Team.objects.values_list("last_ticket_number", flat=True).get(pk=self.team.pk)
        for offset, thread in enumerate(threads):
            thread.ticket.number = last - len(threads) + 1 + offset

    def _settle(self, thread: _Thread) -> None:
        ticket = thread.ticket
        ticket.last_message_at = thread.last_at
        ticket.first_response_at = thread.first_response_at
        if thread.last_at < self.now - timedelta(days=self.open_days):
            ticket.status = Status.CLOSED
            ticket.resolved_at = ticket.closed_at = thread.last_at
        else:
            ticket.status = Status.OPEN if thread.first_response_at else Status.NEW
            ticket.resolved_at = ticket.closed_at = None

    def _update_old_threads(self, new_threads: list[_Thread]) -> None:
        for thread in new_threads:  # written whole by bulk_create already
            self.dirty.pop(id(thread), None)
        dirty = list(self.dirty.values())
        self.dirty.clear()
        for thread in dirty:
            self._settle(thread)
        Ticket.objects.bulk_update(
            [t.ticket for t in dirty],
            ["last_message_at", "first_response_at", "status", "resolved_at", "closed_at"],
        )


@dataclass(frozen=True)
class _Caps:
    per_file: int
    total: int
    now: datetime


def _prepare(origin: str, raw: bytes, caps: _Caps) -> _Item:
    item = _Item(origin, raw, "", hashlib.sha256(raw).hexdigest())
    try:
        item.parsed = parse_message(
            raw,
            max_attachment_bytes=caps.per_file,
            max_total_attachment_bytes=caps.total,
            now=caps.now,
        )
        item.message_id = item.parsed.message_id
    except MailParseError as exc:
        item.error = f"cannot be parsed: {exc}"
        item.message_id = raw_message_id(raw)
    return item


def _prepare_chunk(chunk: list[tuple[str, bytes]], caps: _Caps, *, keep_raw: bool) -> list[_Item]:
    """Runs in a parser process: no database here, only bytes in and dataclasses out. The raw
    bytes are not sent back: the caller still has them."""
    items = [_prepare(origin, raw, caps) for origin, raw in chunk]
    if not keep_raw:
        for item in items:
            item.raw = b""
    return items


def _message(team: Team, ticket: Ticket, parsed: ParsedMail, at: datetime) -> Message:
    sender = parsed.sender
    return Message(
        ticket=ticket,
        team=team,
        kind=MessageKind.EMAIL_IN,
        sender_name=(sender.name if sender else "")[:200],
        sender_email=(sender.email if sender else "")[:254],
        subject=parsed.subject[:500],
        body_text=parsed.text,
        body_html=parsed.html,
        recipients=", ".join(a.email for a in (*parsed.to, *parsed.cc) if a.email),
        message_id=parsed.message_id,
        in_reply_to=" ".join(parsed.in_reply_to),
        references=" ".join(parsed.references),
        noise=str(parsed.noise),
        quote_start=parsed.quote_start,
        signature_start=parsed.signature_start,
        created_at=at,
    )


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
    caps = _Caps(
        settings.MAIL_MAX_ATTACHMENT_BYTES, settings.MAIL_MAX_TOTAL_ATTACHMENT_BYTES, importer.now
    )

    def write(items: list[_Item]) -> None:
        importer.import_batch(items)
        if progress:
            progress(importer.counts)

    if parsers <= 0:
        for chunk in _chunks(messages, batch):
            write(_prepare_chunk(chunk, caps, keep_raw=True))
        return importer.counts
    # fork: the parser processes need nothing but the pure parser, already imported here.
    with ProcessPoolExecutor(parsers, mp_context=multiprocessing.get_context("fork")) as pool:
        ahead: deque[tuple[list[tuple[str, bytes]], Future[list[_Item]]]] = deque()

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
