"""Filing mail into tickets a batch at a time: the part live intake and archive import share.

A batch is parsed mail that is threaded one message after the other (a reply may answer a
mail earlier in the same batch) and then written with a few multi-row statements in one
transaction. Subclasses decide what each mail does (``_decide``) and what the ticket's state
becomes; this class tracks the threads, the requesters and the ticket numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import BinaryIO

from django.db.models import F, QuerySet
from django.utils import timezone

from common.bulk import bulk_insert, update_rows
from people.models import DESK_ROLES, Membership, Team
from tickets.events import DESK, event_build
from tickets.mail.fingerprint import content_fingerprint
from tickets.mail.mailstore import (
    raw_message_id,
    raw_message_id_from_file,
    store_attachments,
    team_own_addresses,
)
from tickets.mail.parse import MailParseError, Noise, ParsedMail, parse_message
from tickets.mail.stream import parse_message_file
from tickets.mail.thread import (
    ThreadMatch,
    needs_lookup_by_address_or_tag,
    reference_ids,
    thread_find,
)
from tickets.models import (
    Message,
    MessageKind,
    OutboundMail,
    RawMessage,
    Requester,
    ThreadReference,
    Ticket,
)
from tickets.models.events import EventKind, TicketEvent
from tickets.selectors import requester_by_email


@dataclass
class Thread:
    """What a batch tracks of a ticket (not the whole row)."""

    ticket: Ticket
    requester_email: str
    created_at: datetime
    last_at: datetime
    first_response_at: datetime | None = None
    messages: int = 0


@dataclass(frozen=True)
class RequesterChange:
    thread: Thread
    old: str
    new: str
    at: datetime


# Message-IDs of one mail remembered as "answered by this ticket", at most: a References
# header can name a hundred; the newest and the root are what a late original has.
MAX_REFERENCES_KEPT = 20


@dataclass
class Item:
    origin: str
    raw: bytes
    message_id: str
    sha256: str
    parsed: ParsedMail | None = None
    error: str = ""
    row: RawMessage | None = None
    message: Message | None = None
    outcome: str = ""
    thread: Thread | None = None
    fingerprint: str = ""  # tickets.mail.fingerprint
    original: RawMessage | Item | None = None  # the delivery this one repeats
    reuses_id: bool = False  # a different mail with an earlier mail's Message-ID
    remark: str = ""  # for the raw row's note, besides ``error``
    note: Message | None = None  # an internal note for the ticket (mail over the size cap)
    size: int = 0  # the raw's size (``raw`` is empty for a big mail parsed from a file)

    def original_row(self) -> RawMessage | None:
        return self.original.row if isinstance(self.original, Item) else self.original

    def raw_note(self) -> str:
        return "; ".join(n for n in (self.error, self.remark) if n)


@dataclass(frozen=True)
class Caps:
    per_file: int
    total: int
    now: datetime
    raw: int = 0  # MAIL_MAX_RAW_BYTES; 0: no cap


def prepare(origin: str, raw: bytes, caps: Caps) -> Item:
    """Parse one raw mail. Pure: runs in parser processes too."""
    item = Item(origin, raw, "", hashlib.sha256(raw).hexdigest(), size=len(raw))
    return _parsed(item, caps, partial(parse_message, raw), partial(raw_message_id, raw))


def prepare_file(origin: str, fp: BinaryIO, *, size: int, sha256: str, caps: Caps) -> Item:
    """``prepare`` for a big mail in a file: parsed without holding it whole in memory
    (tickets.mail.stream); the item's ``raw`` stays empty."""
    fp.seek(0)
    item = Item(origin, b"", "", sha256, size=size)
    parse = partial(parse_message_file, fp, size=size)
    return _parsed(item, caps, parse, partial(raw_message_id_from_file, fp))


def _parsed(
    item: Item, caps: Caps, parse: Callable[..., ParsedMail], headers_id: Callable[[], str]
) -> Item:
    """The item with its parsed mail, Message-ID and fingerprint; a mail that cannot be parsed
    gets its error and the Message-ID its header block names."""
    try:
        item.parsed = parse(
            max_attachment_bytes=caps.per_file,
            max_total_attachment_bytes=caps.total,
            max_raw_bytes=caps.raw,
            now=caps.now,
        )
        item.message_id = item.parsed.message_id
        item.fingerprint = content_fingerprint(item.parsed)
    except MailParseError as exc:
        item.error = f"cannot be parsed: {exc}"
        item.message_id = headers_id()
    return item


@dataclass
class BatchFiler:
    team: Team
    now: datetime = field(default_factory=timezone.now)
    # Live intake locks the tickets it may change, so a shifter's status change made at the
    # same moment is not overwritten; an import works on history nobody else touches.
    lock_tickets: bool = False

    def __post_init__(self) -> None:
        self.own = team_own_addresses(self.team)
        self.thread_of: dict[str, Thread] = {}  # Message-ID -> its thread
        self.threads: dict[int, Thread] = {}  # ticket pk -> thread, for tickets seen
        self.requesters: dict[str, Requester] = {}
        self.dirty: dict[int, Thread] = {}  # earlier tickets this batch changed, by id()
        # Message-IDs the desk's mail refers to but does not have -> the thread referring.
        self.referenced_by: dict[str, Thread] = {}
        self.new_references: list[tuple[Thread, str]] = []
        self.requester_changes: list[RequesterChange] = []
        self._desk: set[str] | None = None

    # -- finding threads ---------------------------------------------------------------------
    def load_threads(self, items: list[Item]) -> None:
        """One query for every earlier message this batch refers to, one for the tickets
        whose mail refers to a mail of this batch (its reply came first)."""
        wanted = {
            mid
            for item in items
            if item.parsed
            for mid in reference_ids(item.parsed)
            if mid not in self.thread_of
        }
        own = {
            item.parsed.message_id
            for item in items
            if item.parsed and item.parsed.message_id
            if item.parsed.message_id not in self.referenced_by
        }
        pairs: list[tuple[str, int]] = []
        if wanted:
            pairs += list(
                Message.objects.filter(team=self.team, message_id__in=wanted).values_list(
                    "message_id", "ticket_id"
                )
            ) + list(
                OutboundMail.objects.filter(team=self.team, message_id__in=wanted)
                .exclude(ticket=None)
                .values_list("message_id", "ticket_id")
            )
        referring: list[tuple[str, int]] = []
        if own:
            referring = list(
                ThreadReference.objects.filter(team=self.team, message_id__in=own)
                .order_by("ticket_id")
                .values_list("message_id", "ticket_id")
            )
        missing = {pk for _, pk in (*pairs, *referring) if pk not in self.threads}
        if missing:
            for ticket in self._tickets().filter(pk__in=missing):
                self.threads[ticket.pk] = self.track(ticket)
        for mid, pk in pairs:
            self.thread_of[mid] = self.threads[pk]
        for mid, pk in referring:
            self.referenced_by.setdefault(mid, self.threads[pk])

    def _tickets(self) -> QuerySet[Ticket]:
        tickets = Ticket.objects.select_related("team", "requester")
        return tickets.select_for_update(of=("self",)) if self.lock_tickets else tickets

    def track(self, ticket: Ticket) -> Thread:
        if ticket.pk in self.threads:
            return self.threads[ticket.pk]
        if self.lock_tickets:
            ticket = self._tickets().get(pk=ticket.pk)
        thread = Thread(
            ticket,
            ticket.requester.email.lower(),
            ticket.created_at,
            ticket.last_message_at,
            ticket.first_response_at,
        )
        self.threads[ticket.pk] = thread
        return thread

    def find(self, parsed: ParsedMail) -> tuple[Thread | None, ThreadMatch | None]:
        """The thread a mail belongs to; or (None, match) when a stranger quoted a tag."""
        if needs_lookup_by_address_or_tag(self.team, parsed):
            match = thread_find(self.team, parsed)  # token and tag come first, as live
            if match is not None:
                if match.stranger:
                    return None, match
                return self.track(match.ticket), match
        for mid in reference_ids(parsed):
            if mid in self.thread_of:
                return self.thread_of[mid], None
        healed = self.referenced_by.get(parsed.message_id) if parsed.message_id else None
        if healed is not None:  # a reply to this mail came first and opened the ticket
            return healed, ThreadMatch(healed.ticket, "referenced")
        return None, None

    def open(self, parsed: ParsedMail, at: datetime) -> Thread:
        sender = parsed.sender
        email = (sender.email if sender and sender.email else "unknown@invalid").lower()
        ticket = Ticket(
            team=self.team,
            subject=parsed.subject.strip()[:500] or "(no subject)",
            created_at=at,
            last_message_at=at,
        )
        ticket._requester_name = sender.name if sender else ""  # type: ignore[attr-defined]
        return Thread(ticket, email[:254], at, at)

    def remember(self, item: Item, thread: Thread, at: datetime) -> None:
        assert item.parsed is not None
        item.thread = thread
        item.message = build_message(self.team, thread.ticket, item.parsed, at)
        thread.messages += 1
        if item.reuses_id:
            # The id stays with the first mail that had it, for threading and uniqueness.
            item.message.message_id = ""
        elif item.parsed.message_id:
            self.thread_of[item.parsed.message_id] = thread
        for mid in reference_ids(item.parsed)[:MAX_REFERENCES_KEPT]:
            # Answered here but not (yet) at the desk: when it comes, it joins this ticket.
            if mid not in self.thread_of and mid not in self.referenced_by:
                self.referenced_by[mid] = thread
                self.new_references.append((thread, mid))
        if item.parsed.oversize:
            item.note = oversize_note(self.team, thread.ticket, item, at)

    def desk_addresses(self) -> set[str]:
        """The desk's own addresses and its members': never a ticket's true requester."""
        if self._desk is None:
            members = Membership.objects.filter(team=self.team, role__in=DESK_ROLES)
            emails = members.values_list("user__email", flat=True).distinct()
            self._desk = {e.lower() for e in emails if e} | self.own
        return self._desk

    def heal(self, parsed: ParsedMail, thread: Thread, at: datetime) -> None:
        """The mail a ticket's earlier mail answers has come after it: the ticket begins
        with it when it is older, and when a shifter's (or the desk's) reply opened the
        ticket, the mail's sender becomes the requester and that reply the first response."""
        ticket = thread.ticket
        opened_at = thread.created_at
        if at < opened_at:
            thread.created_at = ticket.created_at = at
            ticket.subject = parsed.subject.strip()[:500] or ticket.subject
            self.dirty[id(thread)] = thread
        sender = parsed.sender.email.lower()[:254] if parsed.sender else ""
        desk = self.desk_addresses()
        if parsed.noise != Noise.NONE or not sender or sender in desk:
            return
        if thread.requester_email not in desk:
            return
        self.requester_changes.append(RequesterChange(thread, thread.requester_email, sender, at))
        thread.requester_email = sender
        ticket._requester_name = parsed.sender.name if parsed.sender else ""  # type: ignore[attr-defined]
        if thread.first_response_at is None:
            thread.first_response_at = ticket.first_response_at = max(opened_at, at)
        self.dirty[id(thread)] = thread

    # -- writing -----------------------------------------------------------------------------
    def save_requesters(self, threads: list[Thread]) -> None:
        emails = {t.requester_email for t in threads} - self.requesters.keys()
        if emails:
            names = {t.requester_email: t.ticket._requester_name for t in threads}  # type: ignore[attr-defined]
            Requester.objects.bulk_create(
                [Requester(email=e, name=names.get(e, "")[:200]) for e in emails],
                ignore_conflicts=True,
            )
            for requester in Requester.objects.filter(email__in=emails):
                self.requesters[requester.email.lower()] = requester
            for email in emails - self.requesters.keys():  # stored in another case earlier
                found = requester_by_email(email)
                assert found is not None  # bulk_create only skipped it because it exists
                self.requesters[email] = found
        for thread in threads:
            thread.ticket.requester = self.requesters[thread.requester_email]

    def number(self, threads: list[Thread]) -> None:
        """Ticket numbers for a batch at once; the UPDATE holds the team row until commit."""
        if not threads:
            return
        Team.objects.filter(pk=self.team.pk).update(
            last_ticket_number=F("last_ticket_number") + len(threads)
        )
        last = Team.objects.values_list("last_ticket_number", flat=True).get(pk=self.team.pk)
        for offset, thread in enumerate(threads):
            thread.ticket.number = last - len(threads) + 1 + offset

    def save_new_tickets(self, threads: list[Thread]) -> None:
        self.save_requesters(threads)
        self.number(threads)
        Ticket.objects.bulk_create([t.ticket for t in threads])
        for thread in threads:
            self.threads[thread.ticket.pk] = thread
            self.dirty.pop(id(thread), None)  # written whole already

    def save_messages(self, items: list[Item]) -> None:
        """The batch's messages in one INSERT, each pointing at its raw row; attachments."""
        messages = []
        for item in items:
            if item.message is not None:
                item.message.raw = item.row
                messages.append(item.message)
            if item.note is not None:
                messages.append(item.note)
        bulk_insert(messages)
        for item in items:
            if item.message is not None and item.parsed and item.parsed.attachments:
                store_attachments(item.message, item.parsed.attachments)
        ThreadReference.objects.bulk_create(
            [
                ThreadReference(team=self.team, ticket_id=thread.ticket.pk, message_id=mid[:998])
                for thread, mid in self.new_references
            ],
            ignore_conflicts=True,
        )
        self.new_references.clear()
        changed = [change.thread for change in self.requester_changes]
        if changed:
            self.save_requesters(changed)

    def save_raw_findings(self, items: list[Item]) -> None:
        """What filing found out about stored raw rows: the fingerprint, the row a duplicate
        repeats, the size cap. One statement: fingerprints differ per row."""
        rows = []
        for item in items:
            if item.row is None or item.row.pk is None:
                continue
            item.row.fingerprint = item.fingerprint
            item.row.duplicate_of = item.original_row()
            item.row.oversize = bool(item.parsed and item.parsed.oversize)
            rows.append(item.row)
        update_rows(rows, ["fingerprint", "duplicate_of", "oversize"])

    def requester_events(self) -> list[TicketEvent]:
        """The requester changes of the batch as ticket events (tickets saved by now)."""
        events = [
            event_build(
                ticket=change.thread.ticket,
                kind=EventKind.REQUESTER_CHANGED,
                actor=DESK,
                data={
                    "old": change.old,
                    "new": change.new,
                    "reason": "the mail the ticket's first reply answers arrived after it",
                },
                at=change.at,
            )
            for change in self.requester_changes
        ]
        self.requester_changes.clear()
        return events

    def take_dirty(self) -> list[Thread]:
        """Earlier tickets this batch changed; forgets them for the next batch."""
        dirty = list(self.dirty.values())
        self.dirty.clear()
        return dirty


def build_message(team: Team, ticket: Ticket, parsed: ParsedMail, at: datetime) -> Message:
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
        message_id=parsed.message_id[:998],
        in_reply_to=" ".join(parsed.in_reply_to)[:998],
        references=" ".join(parsed.references),
        noise=str(parsed.noise),
        quote_start=parsed.quote_start,
        signature_start=parsed.signature_start,
        created_at=at,
    )


def oversize_note(team: Team, ticket: Ticket, item: Item, at: datetime) -> Message:
    """An internal note on the ticket: the mail was over the size cap, kept but not all read."""
    assert item.parsed is not None
    cut = [a.filename for a in item.parsed.attachments if a.dropped.startswith("cut off")]
    lost = f" The attachment {cut[0]!r} was cut off and is not kept." if cut else ""
    return Message(
        ticket=ticket,
        team=team,
        kind=MessageKind.NOTE,
        body_text=(
            f"This mail was {item.size} bytes, more than the desk reads "
            f"(MAIL_MAX_RAW_BYTES). It is stored whole as a raw message; its text is shown as "
            f"far as the limit.{lost} Ask the sender to share large files by a link instead."
        ),
        created_at=at,
    )
