"""What the desk writes to requesters: shifters' replies and the desk's notices, threaded in
the ticket's mail (the acknowledgement is dispatch's: dispatch.acknowledgement)."""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth.models import User
from django.db import transaction

from people.names import display_name
from tickets.mail.headers import strip_reply_prefixes
from tickets.mail.outbox import (
    MailFields,
    mail_send,
    new_message_id,
    outbound_queue,
    tagged_subject,
    team_sending_address,
    ticket_reply_address,
)
from tickets.models import Message, MessageKind, Status, Ticket
from tickets.models.mail import OutboundKind, OutboundMail
from tickets.services.tickets import Sender, status_record, ticket_add_message


def _subject(ticket: Ticket, prefix: str = "") -> str:
    """The ticket's subject tagged with its reference, without the "Re: AW:" the original
    mail carried: "[DAST-12] Re: x" for a reply."""
    return tagged_subject(ticket, f"{prefix}{strip_reply_prefixes(ticket.subject)}")


def _thread_ids(ticket: Ticket) -> tuple[str, str]:
    """(In-Reply-To, References) for a new mail in the ticket's thread."""
    return thread_headers([ticket.pk])[ticket.pk]


def thread_headers(ticket_ids: list[int]) -> dict[int, tuple[str, str]]:
    """(In-Reply-To, References) for a new mail in each ticket's thread: one query."""
    ids: dict[int, list[str]] = {pk: [] for pk in ticket_ids}
    rows = (
        Message.objects.filter(ticket_id__in=ticket_ids)
        .exclude(message_id="")
        .order_by("ticket_id", "created_at", "pk")
        .values_list("ticket_id", "message_id")
    )
    for ticket_id, mid in rows:
        ids[ticket_id].append(mid)
    # References grows with the thread; the first and the last ten are what clients need.
    return {
        pk: (mids[-1], " ".join(mids if len(mids) <= 11 else [mids[0], *mids[-10:]]))
        if mids
        else ("", "")
        for pk, mids in ids.items()
    }


def ticket_reply(
    *, ticket: Ticket, author: User, body_text: str, cc: tuple[str, ...] = ()
) -> Message:
    """A shifter's answer: stored on the ticket and mailed to the requester, threaded."""
    with transaction.atomic():
        in_reply_to, references = _thread_ids(ticket)
        message_id = new_message_id(ticket.team)
        subject = _subject(ticket, "Re: ")
        message = ticket_add_message(
            ticket=ticket,
            kind=MessageKind.EMAIL_OUT,
            body_text=body_text,
            sender=Sender(author.email, display_name(author)),
            author=author,
            subject=subject,
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
        )
        outbound_queue(
            team=ticket.team,
            ticket=ticket,
            kind=OutboundKind.REPLY,
            to=[ticket.requester.email],
            cc=cc,
            subject=subject,
            body_text=body_text,
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
            reply_to=ticket_reply_address(ticket),
        )
        if ticket.overdue_since is not None:
            Ticket.objects.filter(pk=ticket.pk).update(overdue_since=None)
            ticket.overdue_since = None
        if ticket.status in (Status.NEW, Status.OPEN):
            old = Status(ticket.status)
            Ticket.objects.filter(pk=ticket.pk).update(status=Status.WAITING_ON_USER)
            ticket.status = Status.WAITING_ON_USER
            status_record(ticket, old, Status.WAITING_ON_USER, by=author)
    return message


def requester_thread(ticket: Ticket) -> MailFields:
    """What an automatic mail to the requester carries to land in the ticket's thread: the
    threading headers and the reply address, so that answering it reopens or continues
    the ticket as usual."""
    in_reply_to, references = _thread_ids(ticket)
    sender = team_sending_address(ticket.team)
    return MailFields(
        ticket=ticket,
        in_reply_to=in_reply_to,
        references=references,
        reply_to=ticket_reply_address(ticket, sender),
        automatic=True,
        sender=sender,
    )


def requester_mail(template: str, *, ticket: Ticket, context: Mapping[str, object]) -> OutboundMail:
    """An automatic mail to the requester in the ticket's thread (a reminder, a notice that
    the ticket was resolved), worded by the mail template ``template``. Its subject block
    reads ``{{ reply_subject }}`` ("Re: " and ``subject``, the ticket's without "Re:")."""
    return mail_send(
        template,
        team=ticket.team,
        kind=OutboundKind.NOTIFICATION,
        to=[ticket.requester.email],
        context={
            "subject": (subject := strip_reply_prefixes(ticket.subject)),
            "reply_subject": f"Re: {subject}",
            **context,
        },
        **requester_thread(ticket),
    )
