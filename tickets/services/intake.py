"""Intake: store a raw mail once, then parse, thread and file it.

    raw_store(...)   -> the raw bytes, unique by mailbox + UIDVALIDITY + UID and by Message-ID
    raw_process(...) -> parse, drop noise, thread into a ticket or open one, store attachments

Each step is its own transaction, so a crash between them loses nothing: a stored but
unprocessed mail is processed again (``raw_process`` does nothing to a row that is done).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from tickets.mail.parse import (
    MailParseError,
    Noise,
    ParsedAttachment,
    ParsedMail,
    normalise_message_id,
    parse_message,
)
from tickets.mail.thread import ThreadMatch, thread_find
from tickets.models import (
    Attachment,
    LinkKind,
    Mailbox,
    Message,
    MessageKind,
    RawMessage,
    RawState,
    Requester,
    Status,
    Team,
    Ticket,
    TicketLink,
)
from tickets.models.mail import RawSource
from tickets.services.tickets import Sender, ticket_add_message, ticket_open

log = logging.getLogger(__name__)
_HEADERS = BytesHeaderParser(policy=compat32)


@dataclass(frozen=True)
class IntakeResult:
    outcome: str  # new_ticket | joined | reopened | follow_up | attached | ignored | failed
    raw: RawMessage
    ticket: Ticket | None = None
    message: Message | None = None
    note: str = ""


def raw_message_id(raw: bytes) -> str:
    """The normalised Message-ID from the headers alone (cheap: no body parsing)."""
    try:
        value = _HEADERS.parsebytes(raw).get("Message-ID", "")
    except Exception:  # a header block that cannot be read has no usable id
        return ""
    return normalise_message_id(str(value))


def raw_store(
    *,
    team: Team,
    raw: bytes,
    source: RawSource = RawSource.IMAP,
    mailbox: Mailbox | None = None,
    uidvalidity: int | None = None,
    uid: int | None = None,
    origin: str = "",
) -> RawMessage | None:
    """Store the bytes as they came. None when this mail is already stored (the list's copy
    and the direct copy share a Message-ID; a replayed UID is the same mail)."""
    message_id = raw_message_id(raw)
    digest = hashlib.sha256(raw).hexdigest()
    try:
        with transaction.atomic():
            return RawMessage.objects.create(
                team=team,
                source=source,
                mailbox=mailbox,
                uidvalidity=uidvalidity,
                uid=uid,
                origin=origin[:500],
                message_id=message_id,
                sha256=digest,
                size=len(raw),
                raw=raw,
            )
    except IntegrityError:
        return None


def team_own_addresses(team: Team) -> set[str]:
    addresses = {team.support_address.lower()}
    for mailbox in Mailbox.objects.filter(team=team):
        addresses.update(mailbox.address_list)
    return addresses


def _is_own(parsed: ParsedMail, own: set[str]) -> bool:
    if parsed.sender is None:
        return False
    email = parsed.sender.email.lower()
    local, _, domain = email.partition("@")
    return email in own or f"{local.split('+')[0]}@{domain}" in own


def raw_process(
    raw: RawMessage, *, received_at: datetime | None = None, announce: bool = True
) -> IntakeResult:
    """Parse and file one stored mail. ``received_at`` None means "use the Date header"
    (imports); live intake passes the arrival time. ``announce`` False keeps imports quiet:
    no routing, no acknowledgement."""
    try:
        parsed = parse_message(
            bytes(raw.raw),
            max_attachment_bytes=settings.MAIL_MAX_ATTACHMENT_BYTES,
            max_total_attachment_bytes=settings.MAIL_MAX_TOTAL_ATTACHMENT_BYTES,
        )
    except MailParseError as exc:
        return _finish(raw, RawState.FAILED, f"cannot be parsed: {exc}", "failed")
    at = received_at or parsed.date or raw.received_at
    with transaction.atomic():
        locked = RawMessage.objects.select_for_update().get(pk=raw.pk)
        if locked.state != RawState.NEW:
            return IntakeResult("ignored", locked, note=f"already {locked.state}")
        if _is_own(parsed, team_own_addresses(raw.team)):
            return _finish(locked, RawState.IGNORED, "our own mail", "ignored")
        match = thread_find(raw.team, parsed)
        if parsed.noise != Noise.NONE:
            return _file_noise(locked, parsed, match, at)
        return _file_mail(locked, parsed, match, at, announce)


def _finish(
    raw: RawMessage,
    state: RawState,
    note: str,
    outcome: str,
    ticket: Ticket | None = None,
    message: Message | None = None,
) -> IntakeResult:
    RawMessage.objects.filter(pk=raw.pk).update(state=state, note=note, processed_at=timezone.now())
    raw.state, raw.note = state, note
    return IntakeResult(outcome, raw, ticket, message, note)


def _sender(parsed: ParsedMail) -> Sender:
    if parsed.sender is None or not parsed.sender.email:
        return Sender("unknown@invalid", "(no sender)")
    return Sender(parsed.sender.email, parsed.sender.name)


def _message_fields(parsed: ParsedMail, raw: RawMessage) -> dict[str, object]:
    return {
        "body_text": parsed.text,
        "body_html": parsed.html,
        "subject": parsed.subject,
        "message_id": parsed.message_id,
        "in_reply_to": " ".join(parsed.in_reply_to),
        "references": " ".join(parsed.references),
    }


def _add(
    ticket: Ticket, parsed: ParsedMail, raw: RawMessage, at: datetime, announce: bool
) -> Message:
    message = ticket_add_message(
        ticket=ticket,
        kind=MessageKind.EMAIL_IN,
        sender=_sender(parsed),
        created_at=at,
        announce=announce,
        **_message_fields(parsed, raw),  # type: ignore[arg-type]
    )
    _decorate(message, parsed, raw)
    return message


def _decorate(message: Message, parsed: ParsedMail, raw: RawMessage) -> None:
    """What ticket_add_message/ticket_open do not know about: mail-only fields, attachments."""
    fields = {
        "raw": raw,
        "recipients": ", ".join(a.email for a in (*parsed.to, *parsed.cc) if a.email),
        "noise": str(parsed.noise),
        "quote_start": parsed.quote_start,
        "signature_start": parsed.signature_start,
    }
    Message.objects.filter(pk=message.pk).update(**fields)
    for name, value in fields.items():
        setattr(message, name, value)
    store_attachments(message, parsed.attachments)


def store_attachments(message: Message, parts: Iterable[ParsedAttachment]) -> None:
    for part in parts:
        _store_attachment(message, part)


def _store_attachment(message: Message, part: ParsedAttachment) -> None:
    content = part.content
    digest = hashlib.sha256(content).hexdigest()
    attachment = Attachment(
        message=message,
        filename=part.filename,
        content_type=part.content_type,
        size=part.size,
        sha256=digest,
        content_id=part.content_id,
        dropped=part.dropped[:200],
    )
    if part.dropped:
        attachment.save()
        return
    path = f"attachments/{digest[:2]}/{digest}"
    if not default_storage.exists(path):
        path = default_storage.save(path, ContentFile(content))
    attachment.file.name = path
    attachment.save()


def _file_mail(
    raw: RawMessage, parsed: ParsedMail, match: ThreadMatch | None, at: datetime, announce: bool
) -> IntakeResult:
    if match is not None and match.stranger:
        # Quoting someone else's ticket number does not give access to it.
        ticket = _open(raw, parsed, at, announce)
        _link(ticket, match.ticket, LinkKind.RELATED)
        return _finish(
            raw,
            RawState.PROCESSED,
            f"stranger quoting {match.ticket.reference}",
            "new_ticket",
            ticket,
            ticket.messages.first(),
        )
    if match is None:
        ticket = _open(raw, parsed, at, announce)
        return _finish(raw, RawState.PROCESSED, "", "new_ticket", ticket, ticket.messages.first())
    ticket = match.ticket
    if ticket.status in (Status.RESOLVED, Status.CLOSED):
        closed_at = ticket.closed_at or ticket.resolved_at or ticket.last_message_at
        if at - closed_at > timedelta(days=settings.REOPEN_WINDOW_DAYS):
            follow_up = _open(raw, parsed, at, announce)
            _link(follow_up, ticket, LinkKind.FOLLOW_UP)
            return _finish(
                raw,
                RawState.PROCESSED,
                f"follow-up of {ticket.reference}",
                "follow_up",
                follow_up,
                follow_up.messages.first(),
            )
        message = _add(ticket, parsed, raw, at, announce)
        Ticket.objects.filter(pk=ticket.pk).update(
            status=Status.OPEN,
            resolved_at=None,
            closed_at=None,
            reopen_count=ticket.reopen_count + 1,
        )
        return _finish(raw, RawState.PROCESSED, "", "reopened", ticket, message)
    message = _add(ticket, parsed, raw, at, announce)
    if ticket.status in (Status.WAITING_ON_USER,):
        Ticket.objects.filter(pk=ticket.pk).update(status=Status.OPEN)
    return _finish(raw, RawState.PROCESSED, "", "joined", ticket, message)


def _open(raw: RawMessage, parsed: ParsedMail, at: datetime, announce: bool) -> Ticket:
    ticket = ticket_open(
        team=raw.team,
        sender=_sender(parsed),
        kind=MessageKind.EMAIL_IN,
        created_at=at,
        announce=announce,
        **_message_fields(parsed, raw),  # type: ignore[arg-type]
    )
    first = ticket.messages.get()
    _decorate(first, parsed, raw)
    return ticket


def _link(ticket: Ticket, other: Ticket, kind: LinkKind) -> None:
    TicketLink.objects.get_or_create(from_ticket=ticket, to_ticket=other, defaults={"kind": kind})


def _file_noise(
    raw: RawMessage, parsed: ParsedMail, match: ThreadMatch | None, at: datetime
) -> IntakeResult:
    """Auto-replies, bounces and bulk mail never open a ticket and are never answered. One
    that belongs to a ticket is kept there, quietly."""
    if parsed.noise == Noise.BOUNCE and parsed.bounce is not None:
        for address in parsed.bounce.recipients:
            Requester.objects.filter(email__iexact=address, bouncing_since__isnull=True).update(
                bouncing_since=timezone.now()
            )
    if match is None or match.stranger:
        return _finish(raw, RawState.IGNORED, f"{parsed.noise}: not part of a ticket", "ignored")
    message = ticket_add_message(
        ticket=match.ticket,
        kind=MessageKind.EMAIL_IN,
        sender=_sender(parsed),
        created_at=at,
        announce=False,
        **_message_fields(parsed, raw),  # type: ignore[arg-type]
    )
    _decorate(message, parsed, raw)
    return _finish(
        raw,
        RawState.PROCESSED,
        f"{parsed.noise} kept on the ticket",
        "attached",
        match.ticket,
        message,
    )
