"""The acknowledgement: the one mail a requester gets when their ticket is routed, with its
number and when a shifter will look (``dispatch.consumers`` sends it after routing). Never to
an address that bounces, and at most ``ACK_LIMIT_PER_HOUR`` an hour to one address (a loop
with another robot ends here)."""

from __future__ import annotations

from django.conf import settings

from common import ratelimit
from common.links import site_url
from common.mailtemplates import MailTemplate, mail_template
from common.ratelimit import Hit, Rate
from people.names import display_name
from tickets.mail.headers import strip_reply_prefixes
from tickets.mail.outbox import (
    mail_build,
    outbound_queue_many,
    team_sending_address,
    ticket_reply_address,
)
from tickets.models import Ticket
from tickets.models.mail import OutboundKind, OutboundMail
from tickets.services.replies import thread_headers


def ticket_acknowledge(*, ticket: Ticket, when: str) -> OutboundMail | None:
    """Send the requester one acknowledgement, unless their address bounces or has had too
    many in the last hour (a loop with another robot ends here)."""
    return tickets_acknowledge([(ticket, when)]).get(ticket.pk)


def tickets_acknowledge(wanted: list[tuple[Ticket, str]]) -> dict[int, OutboundMail]:
    """``ticket_acknowledge`` for a batch of (ticket, when a shifter will look), in a few
    queries whatever its size; the acknowledgements queued, by ticket pk. The hourly limit
    per address (ACK_LIMIT_PER_HOUR, counted by common.ratelimit) counts the batch's own
    acknowledgements too."""
    wanted = [(t, when) for t, when in wanted if t.requester.bouncing_since is None]
    if not wanted:
        return {}
    threads = thread_headers([t.pk for t, _ in wanted])
    per_address = Rate(settings.ACK_LIMIT_PER_HOUR, 3600)
    mails: dict[int, OutboundMail] = {}
    templates: dict[int, MailTemplate] = {}
    for ticket, when in wanted:
        requester = ticket.requester
        if not ratelimit.allow(Hit("acknowledgement", requester.email, per_address)):
            continue
        in_reply_to, references = threads[ticket.pk]
        sender = team_sending_address(ticket.team)
        if ticket.team_id not in templates:  # loaded once per team and batch
            templates[ticket.team_id] = mail_template("acknowledgement", team=ticket.team)
        mails[ticket.pk] = mail_build(
            templates[ticket.team_id],
            team=ticket.team,
            ticket=ticket,
            kind=OutboundKind.ACKNOWLEDGEMENT,
            to=[requester.email],
            context={
                "name": display_name(requester),
                "team": ticket.team.name,
                "reference": ticket.reference,
                "subject": strip_reply_prefixes(ticket.subject),
                "when": when,
                "url": site_url(ticket.get_requester_url()),
            },
            in_reply_to=in_reply_to,
            references=references,
            reply_to=ticket_reply_address(ticket, sender),
            automatic=True,
            sender=sender,
        )
    outbound_queue_many(list(mails.values()))
    return mails
