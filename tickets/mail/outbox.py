"""The outbox: mail is written as a row in the caller's transaction and sent after commit.

A send claims its row with a conditional UPDATE, so two workers never send the same mail; a
failure puts it back with a later ``next_attempt_at``; the beat sweep picks up whatever a lost
task or an SMTP outage left behind.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from email.utils import formataddr, parseaddr
from typing import TypedDict, Unpack

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from common.mailtemplates import MailTemplate, flatten, mail_template
from common.memo import scoped
from common.sendqueue import SendQueue
from people.models import Team
from tickets.models import Mailbox, OutboundMail, Ticket
from tickets.models.mail import OutboundKind

log = logging.getLogger(__name__)
SENDING_MAIL = SendQueue(
    OutboundMail,
    claim_seconds=300,
    retry_base_setting="OUTBOX_RETRY_BASE_S",
    max_attempts_setting="OUTBOX_MAX_ATTEMPTS",
    sweep_interval_setting="OUTBOX_SWEEP_INTERVAL_S",
)


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


class MailFields(TypedDict, total=False):
    """What an outbox row may carry beside its wording (``outbound_build``'s options)."""

    ticket: Ticket | None
    cc: Sequence[str]
    message_id: str
    in_reply_to: str
    references: str
    reply_to: str
    automatic: bool
    sender: str  # saves a look-up when the caller already has the team's address


def outbound_build(
    *,
    team: Team,
    kind: OutboundKind,
    to: Sequence[str],
    subject: str,
    body_text: str,
    **fields: Unpack[MailFields],
) -> OutboundMail:
    """An outbox row, not yet saved (``outbound_queue_many`` writes a batch of them)."""
    sender = fields.get("sender") or team_sending_address(team)
    return OutboundMail(
        team=team,
        ticket=fields.get("ticket"),
        kind=kind,
        from_address=formataddr((team.name, sender)),
        reply_to=fields.get("reply_to", ""),
        to=", ".join(to),
        cc=", ".join(fields.get("cc", ())),
        subject=flatten(subject)[:500],
        body_text=body_text,
        message_id=fields.get("message_id") or new_message_id(team, sender),
        in_reply_to=fields.get("in_reply_to", ""),
        references=fields.get("references", ""),
        automatic=fields.get("automatic", False),
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


class Outbound(MailFields):
    """``outbound_build``'s keywords: a mail whose text the caller wrote."""

    team: Team
    kind: OutboundKind
    to: Sequence[str]
    subject: str
    body_text: str


def outbound_queue(**mail: Unpack[Outbound]) -> OutboundMail:
    """Write a mail whose text the caller wrote (a shifter's reply) to the outbox; it is
    sent by a worker once the caller's transaction commits. The desk's own wording goes
    through ``mail_send``."""
    return outbound_queue_many([outbound_build(**mail)])[0]


def mail_build(
    template: str | MailTemplate,
    *,
    team: Team,
    kind: OutboundKind,
    to: Sequence[str],
    context: Mapping[str, object],
    **fields: Unpack[MailFields],
) -> OutboundMail:
    """An outbox row worded by the mail template ``template`` (its name under
    ``templates/mail/``, or one loaded once for a batch with ``mail_template``) rendered
    with ``context``, the team's own template first (``common.mailtemplates``). A mail
    about a ticket has its subject tagged with the ticket's reference. Not yet saved."""
    if isinstance(template, str):
        template = mail_template(template, team=team)
    mail = template.render(context)
    ticket = fields.get("ticket")
    subject = tagged_subject(ticket, mail.subject) if ticket is not None else mail.subject
    return outbound_build(
        team=team, kind=kind, to=to, subject=subject, body_text=mail.text, **fields
    )


class Mail(MailFields):
    """``mail_build``'s keywords: who sends, what kind, to whom, the template's context."""

    team: Team
    kind: OutboundKind
    to: Sequence[str]
    context: Mapping[str, object]


def mail_send(template: str | MailTemplate, **mail: Unpack[Mail]) -> OutboundMail:
    """``mail_build`` written to the outbox: the one way the desk's wording becomes a mail,
    sent by a worker once the caller's transaction commits."""
    return outbound_queue_many([mail_build(template, **mail)])[0]


def notification_queue(
    *, team: Team, to: Sequence[str], template: str, context: Mapping[str, object]
) -> OutboundMail:
    """An automatic notification from the team's desk to its people, worded by a mail
    template (what the shift calendar tells them: ``shifts.notify``, plugged in by
    ``dispatch``)."""
    return mail_send(
        template,
        team=team,
        kind=OutboundKind.NOTIFICATION,
        to=to,
        context=context,
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
    if not SENDING_MAIL.claim(outbound_id, timezone.now()):
        return False
    mail = OutboundMail.objects.get(pk=outbound_id)
    try:
        with get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT) as connection:
            connection.send_messages([_as_email(mail)])
    except Exception as exc:  # SMTP refused, server down, DNS, TLS: all mean "try again later"
        SENDING_MAIL.failed(mail.pk, mail.attempts, f"{exc.__class__.__name__}: {exc}")
        log.warning("outbound %s attempt %s failed: %s", mail.pk, mail.attempts, exc)
        return False
    sent: dict[str, object] = {}
    if mail.kind == OutboundKind.SIGN_IN:
        # The body holds a working sign-in link: once delivered, nobody reading the outbox
        # (an admin, a database dump) may use it.
        sent["body_text"] = SIGN_IN_SENT
    SENDING_MAIL.sent(mail.pk, **sent)
    return True


def outbound_due_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    return SENDING_MAIL.due_ids(now=now, limit=limit)


def outbox_send_due(*, budget_s: float | None = None) -> int:
    """Send what is due (retries, and rows whose send task was lost) in this process
    (``common.sendqueue.SendQueue.send_due``). Returns how many were sent."""
    return SENDING_MAIL.send_due(outbound_send, budget_s=budget_s)
