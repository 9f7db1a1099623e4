"""The requester's page: sign-in by a one-time link mailed to them, what they may see, and
their replies from the page.

The whole access rule for requesters lives in this module (the reads beside the writes), so
that one file answers "what can a requester see?":

- a requester sees their own tickets, found by ``Ticket.requester``; anyone else's ticket is
  treated exactly like one that does not exist;
- in a thread they see their own mail and web messages (not auto-replies, bounces or claims
  marked unverified) and the desk's replies on their own tickets; never internal notes, expert
  answers or anyone else's mail.

A sign-in link carries a random token; only its SHA-256 is stored. Using it is a conditional
UPDATE, so two clicks (or a click and a mail scanner) cannot both sign in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from common import ratelimit
from common.links import site_url
from common.ratelimit import hit
from people.names import display_name
from tickets.events import actor_requester, event_record
from tickets.mail.outbox import mail_send, new_message_id, tagged_subject
from tickets.models import (
    Attachment,
    LinkKind,
    Message,
    MessageKind,
    Noise,
    Requester,
    RequesterSignIn,
    Status,
    Ticket,
    TicketLink,
)
from tickets.models.events import EventKind
from tickets.models.mail import OutboundKind
from tickets.selectors import requester_by_email
from tickets.services.tickets import (
    Sender,
    ticket_add_message,
    ticket_flag_reply,
    ticket_open,
    ticket_set_status,
)

SIGNIN_LINK_MINUTES = 30
MAX_REPLY_CHARS = 20_000
MAX_MERGE_HOPS = 5
CLOSED = (Status.RESOLVED, Status.CLOSED)


class ReplyRefused(Exception):
    """A reply from the page that cannot be taken (empty, too long)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- signing in -----------------------------------------------------------------------------


def signin_link_send(*, email: str, ip: str) -> None:
    """Mail a one-time sign-in link to a known requester. Unknown addresses get nothing, and
    the caller cannot tell the difference: both count against the same limits and return the
    same way. Raises ``common.ratelimit.Limited`` past the limits (settings.RATE_LIMITS)."""
    email = email.strip()[:254]
    ratelimit.take(hit("requester-signin-ip", ip))
    ratelimit.take(hit("requester-signin-email", email))
    requester = requester_by_email(email) if email else None
    if requester is None:
        return
    # The team of their latest request signs the mail; a requester always has one.
    latest = (
        Ticket.objects.filter(requester=requester)
        .select_related("team")
        .order_by("-last_message_at")
        .first()
    )
    if latest is None:
        return
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    url = site_url(reverse("requester-signin", args=[token]))
    with transaction.atomic():
        RequesterSignIn.objects.create(
            requester=requester,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + timedelta(minutes=SIGNIN_LINK_MINUTES),
        )
        mail_send(
            "signin",
            team=latest.team,
            kind=OutboundKind.SIGN_IN,
            to=[requester.email],
            context={
                "name": display_name(requester),
                "team": latest.team.name,
                "minutes": SIGNIN_LINK_MINUTES,
                "url": url,
            },
            automatic=True,
        )


def signin_link_use(*, token: str, at: datetime) -> Requester | None:
    """The requester a link signs in, once: the UPDATE only matches an unused, unexpired
    link, so of two simultaneous uses exactly one wins. Anything else is None."""
    if not token or len(token) > 100:
        return None
    digest = token_hash(token)
    used = RequesterSignIn.objects.filter(
        token_hash=digest, used_at__isnull=True, expires_at__gt=at
    ).update(used_at=at)
    if used != 1:
        return None
    return RequesterSignIn.objects.select_related("requester").get(token_hash=digest).requester


# --- what a requester sees ------------------------------------------------------------------


def _visible(requester: Requester) -> Q:
    own_words = Q(
        kind__in=(MessageKind.EMAIL_IN, MessageKind.WEB),
        noise=Noise.NONE,
        unverified=False,
        sender_email__iexact=requester.email,
    )
    # The desk's replies on their own tickets; one that names its recipients must name them
    # (after a merge a ticket can hold replies that went to someone else).
    desk_replies = Q(kind=MessageKind.EMAIL_OUT, ticket__requester=requester) & (
        Q(recipients="") | Q(recipients__icontains=requester.email)
    )
    return own_words | desk_replies


def requester_tickets(requester: Requester) -> QuerySet[Ticket]:
    """Their tickets, latest activity first."""
    return (
        Ticket.objects.filter(requester=requester)
        .select_related("team", "merged_into__team")
        .order_by("-last_message_at", "-pk")
    )


def requester_ticket(requester: Requester, *, prefix: str, number: int) -> Ticket | None:
    """One of their tickets; None for a ticket that does not exist or is not theirs."""
    return requester_tickets(requester).filter(team__ticket_prefix=prefix, number=number).first()


def thread_ticket(ticket: Ticket) -> Ticket:
    """Where a ticket's thread lives now: merging moves messages to the ticket merged into."""
    for _ in range(MAX_MERGE_HOPS):
        if ticket.merged_into_id is None:
            break
        ticket = Ticket.objects.select_related("team").get(pk=ticket.merged_into_id)
    return ticket


def requester_thread(requester: Requester, ticket: Ticket) -> QuerySet[Message]:
    """The messages of a thread this requester may read, oldest first, with attachments."""
    return (
        Message.objects.filter(ticket=ticket)
        .filter(_visible(requester))
        .prefetch_related("attachments")
        .order_by("created_at", "pk")
    )


def requester_attachment(requester: Requester, pk: int) -> Attachment | None:
    """An attachment of a message the requester may read, kept on disk; else None."""
    return (
        Attachment.objects.filter(pk=pk, message__in=Message.objects.filter(_visible(requester)))
        .exclude(file="")
        .first()
    )


def reply_opens_follow_up(ticket: Ticket, at: datetime) -> bool:
    """A reply to a ticket closed longer than the reopen window opens a new, linked one."""
    if ticket.status not in CLOSED:
        return False
    closed_at = ticket.closed_at or ticket.resolved_at or ticket.last_message_at
    return at - closed_at > timedelta(days=settings.REOPEN_WINDOW_DAYS)


# --- replying from the page -----------------------------------------------------------------


def requester_reply(
    *, requester: Requester, ticket: Ticket, body_text: str, at: datetime
) -> Message:
    """The requester writes on their ticket's page. It lands like a mailed reply would: on
    the ticket the thread lives on now, reopening a recently closed one (or opening a linked
    follow-up after ``REOPEN_WINDOW_DAYS``), flagged for its owner, recorded for the consumers."""
    if ticket.requester_id != requester.pk:
        raise PermissionError("not the requester's ticket")
    body = body_text.replace("\r\n", "\n").strip()
    if not body:
        raise ReplyRefused("Write something first.")
    if len(body) > MAX_REPLY_CHARS:
        raise ReplyRefused(f"At most {MAX_REPLY_CHARS:,} characters, please.")
    ratelimit.take(hit("requester-reply", str(requester.pk)))
    sender = Sender(requester.email, requester.name)
    with transaction.atomic():
        target = thread_ticket(ticket)
        target = Ticket.objects.select_for_update().select_related("team").get(pk=target.pk)
        subject = tagged_subject(target, f"Re: {ticket.subject}")
        if reply_opens_follow_up(target, at):
            follow_up = ticket_open(
                team=target.team,
                sender=sender,
                subject=ticket.subject,
                body_text=body,
                kind=MessageKind.WEB,
                category=target.category,
                created_at=at,
            )
            TicketLink.objects.create(
                from_ticket=follow_up, to_ticket=target, kind=LinkKind.FOLLOW_UP
            )
            return follow_up.messages.get()
        if target.status in CLOSED:
            # The row is locked: counting on the loaded value loses nothing.
            target.resolved_at = target.closed_at = None
            target.reopen_count += 1
            Ticket.objects.filter(pk=target.pk).update(
                resolved_at=None, closed_at=None, reopen_count=target.reopen_count
            )
            ticket_set_status(ticket=target, status=Status.OPEN, at=at)
            # Reopened before its message, as for mail: routing then gives the message to
            # this shift's owner.
            event_record(
                ticket=target,
                kind=EventKind.REOPENED,
                actor=actor_requester(requester.email),
                at=at,
            )
        elif target.status == Status.WAITING_ON_USER:
            ticket_set_status(ticket=target, status=Status.OPEN, at=at)
        message = ticket_add_message(
            ticket=target,
            kind=MessageKind.WEB,
            body_text=body,
            sender=sender,
            subject=subject,
            message_id=new_message_id(target.team),
            created_at=at,
        )
        ticket_flag_reply(ticket=target, at=at)
    return message
