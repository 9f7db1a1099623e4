"""The outbox: mail is written as a row in the caller's transaction and sent after commit.

A send claims its row with a conditional UPDATE, so two workers never send the same mail; a
failure puts it back with a later ``next_attempt_at``; the beat sweep picks up whatever a lost
task or an SMTP outage left behind.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from common.memo import scoped
from people.models import Team
from tickets.models import Mailbox, OutboundMail, OutboundState, Ticket
from tickets.models.mail import OutboundKind

log = logging.getLogger(__name__)
CLAIM_SECONDS = 300
MAX_BACKOFF = timedelta(hours=1)


def team_sending_address(team: Team) -> str:
    """The desk's own address for a team: the first address of its first active mailbox
    (read once within a ``common.memo.memo_scope``)."""
    return scoped(("sending_address", team.pk), lambda: _sending_address(team))


def _sending_address(team: Team) -> str:
    mailbox = (
        Mailbox.objects.filter(team=team, active=True).order_by("pk").only("addresses").first()
    )
    if mailbox and mailbox.address_list:
        return mailbox.address_list[0]
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def ticket_reply_address(ticket: Ticket, sender: str = "") -> str:
    """support+TOKEN@host: a reply to it threads into the ticket whatever its subject."""
    local, _, domain = (sender or team_sending_address(ticket.team)).partition("@")
    return f"{local.split('+')[0]}+{ticket.reply_token}@{domain}"


def new_message_id(team: Team, sender: str = "") -> str:
    domain = (sender or team_sending_address(team)).partition("@")[2] or "dast-desk.invalid"
    return f"<{uuid.uuid4().hex}.{team.ticket_prefix.lower()}@{domain}>"


def tagged_subject(ticket: Ticket, subject: str) -> str:
    tag = f"[{ticket.reference}]"
    return subject if tag in subject else f"{tag} {subject}"


def outbound_build(
    *,
    team: Team,
    kind: OutboundKind,
    to: Sequence[str],
    subject: str,
    body_text: str,
    ticket: Ticket | None = None,
    cc: Sequence[str] = (),
    message_id: str = "",
    in_reply_to: str = "",
    references: str = "",
    reply_to: str = "",
    automatic: bool = False,
    sender: str = "",
) -> OutboundMail:
    """An outbox row, not yet saved (``outbound_queue_many`` writes a batch of them).
    ``sender`` saves a look-up when the caller already has the team's address."""
    sender = sender or team_sending_address(team)
    return OutboundMail(
        team=team,
        ticket=ticket,
        kind=kind,
        from_address=formataddr((team.name, sender)),
        reply_to=reply_to,
        to=", ".join(to),
        cc=", ".join(cc),
        subject=subject[:500],
        body_text=body_text,
        message_id=message_id or new_message_id(team, sender),
        in_reply_to=in_reply_to,
        references=references,
        automatic=automatic,
        next_attempt_at=timezone.now(),
    )


def outbound_queue_many(mails: list[OutboundMail]) -> list[OutboundMail]:
    """Write built mails to the outbox in one INSERT; each is sent by a worker once the
    caller's transaction commits."""
    if not mails:
        return mails
    OutboundMail.objects.bulk_create(mails)
    pks = [mail.pk for mail in mails]

    def enqueue() -> None:
        for pk in pks:
            _enqueue(pk)

    transaction.on_commit(enqueue)
    return mails


def outbound_queue(
    *,
    team: Team,
    kind: OutboundKind,
    to: Sequence[str],
    subject: str,
    body_text: str,
    ticket: Ticket | None = None,
    cc: Sequence[str] = (),
    message_id: str = "",
    in_reply_to: str = "",
    references: str = "",
    reply_to: str = "",
    automatic: bool = False,
    sender: str = "",
) -> OutboundMail:
    """Write a mail to the outbox; it is sent by a worker once the caller's transaction
    commits."""
    mail = outbound_build(
        team=team,
        kind=kind,
        to=to,
        subject=subject,
        body_text=body_text,
        ticket=ticket,
        cc=cc,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        reply_to=reply_to,
        automatic=automatic,
        sender=sender,
    )
    return outbound_queue_many([mail])[0]


def notification_queue(
    *, team: Team, to: Sequence[str], subject: str, body_text: str
) -> OutboundMail:
    """An automatic notification from the team's desk to its people (what the shift
    calendar tells them: ``shifts.notify``, plugged in by ``dispatch``)."""
    return outbound_queue(
        team=team,
        kind=OutboundKind.NOTIFICATION,
        to=to,
        subject=subject,
        body_text=body_text,
        automatic=True,
    )


# Queues the task that sends one row (tickets.tasks.outbound_send_task.delay), set by
# TicketsConfig.ready(): the tasks module imports this one, never the other way round.
_send_later: Callable[[int], object] | None = None


def send_later_set(send_later: Callable[[int], object]) -> None:
    global _send_later
    _send_later = send_later


def _enqueue(outbound_id: int) -> None:
    if _send_later is None:
        raise ImproperlyConfigured("The outbox has no send task: TicketsConfig.ready() sets it.")
    try:
        _send_later(outbound_id)
    except Exception:  # the sweep will find the row; a broker hiccup must not fail the request
        log.exception("could not enqueue outbound mail %s; the sweep will send it", outbound_id)


def _backoff(attempts: int) -> timedelta:
    return min(
        timedelta(seconds=settings.OUTBOX_RETRY_BASE_S * 2 ** max(attempts - 1, 0)), MAX_BACKOFF
    )


def _claim(outbound_id: int, now: datetime) -> bool:
    claimable = Q(state=OutboundState.PENDING, next_attempt_at__lte=now) | Q(
        state=OutboundState.SENDING, claimed_until__lt=now
    )
    return (
        OutboundMail.objects.filter(claimable, pk=outbound_id).update(
            state=OutboundState.SENDING,
            claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
            attempts=F("attempts") + 1,
        )
        == 1
    )


def _as_email(mail: OutboundMail) -> EmailMessage:
    headers = {"Message-ID": mail.message_id}
    if mail.in_reply_to:
        headers["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        headers["References"] = mail.references
    if mail.automatic:
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    return EmailMessage(
        subject=mail.subject,
        body=mail.body_text,
        from_email=mail.from_address,
        to=[a.strip() for a in mail.to.split(",") if a.strip()],
        cc=[a.strip() for a in mail.cc.split(",") if a.strip()],
        reply_to=[mail.reply_to] if mail.reply_to else None,
        headers=headers,
    )


SIGN_IN_SENT = "(A one-time sign-in link was sent; it is not kept.)"


def outbound_send(outbound_id: int) -> bool:
    """Send one outbox row if it is due and nobody else is sending it. True when sent."""
    now = timezone.now()
    if not _claim(outbound_id, now):
        return False
    mail = OutboundMail.objects.get(pk=outbound_id)
    try:
        with get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT) as connection:
            connection.send_messages([_as_email(mail)])
    except Exception as exc:  # SMTP refused, server down, DNS, TLS: all mean "try again later"
        gave_up = mail.attempts >= settings.OUTBOX_MAX_ATTEMPTS
        OutboundMail.objects.filter(pk=mail.pk, state=OutboundState.SENDING).update(
            state=OutboundState.FAILED if gave_up else OutboundState.PENDING,
            next_attempt_at=timezone.now() + _backoff(mail.attempts),
            claimed_until=None,
            last_error=f"{exc.__class__.__name__}: {exc}"[:2000],
        )
        log.warning("outbound %s attempt %s failed: %s", mail.pk, mail.attempts, exc)
        return False
    sent: dict[str, object] = {}
    if mail.kind == OutboundKind.SIGN_IN:
        # The body holds a working sign-in link: once delivered, nobody reading the outbox
        # (an admin, a database dump) may use it.
        sent["body_text"] = SIGN_IN_SENT
    OutboundMail.objects.filter(pk=mail.pk, state=OutboundState.SENDING).update(
        state=OutboundState.SENT, sent_at=timezone.now(), claimed_until=None, last_error="", **sent
    )
    return True


def outbound_due_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    due = Q(state=OutboundState.PENDING, next_attempt_at__lte=now) | Q(
        state=OutboundState.SENDING, claimed_until__lt=now
    )
    return list(
        OutboundMail.objects.filter(due)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def outbox_send_due(*, budget_s: float | None = None) -> int:
    """Send what is due (retries, and rows whose send task was lost) in this process, one
    after the other, for at most ``budget_s`` (default four sweep intervals). One sweep does
    the work itself instead of queueing a task per row: a sweep every few seconds during an
    SMTP outage would otherwise queue the same rows again and again. Returns how many were
    sent."""
    budget = settings.OUTBOX_SWEEP_INTERVAL_S * 4 if budget_s is None else budget_s
    started = time.monotonic()
    sent = 0
    while due := outbound_due_ids(limit=100):
        # A row that fails waits for its backoff, so it is not due again in this loop.
        for outbound_id in due:
            sent += outbound_send(outbound_id)
            if time.monotonic() - started > budget:
                return sent  # at least one row per sweep, whatever the budget
    return sent
