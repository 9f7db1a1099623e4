"""Which ticket an inbound mail belongs to. Reads only; the one ORM module of the mail step.

In this order: the ticket's reply token in a recipient address (support+TOKEN@...),
In-Reply-To and References against the Message-IDs the desk has stored or sent (a reply to
a mail of the desk's is part of its thread, whoever writes it: an expert answering an
escalation), then the ticket tag in the subject ([DAST-1234]). A subject tag alone does not
let a stranger into a ticket: their mail opens a new ticket linked to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from people.models import DESK_ROLES, Membership, Team
from tickets.mail.parse import ParsedMail, subject_tags
from tickets.models import Message, OutboundMail, Ticket

# support+TOKEN@host, or support+TOKEN.SUFFIX@host: the suffix belongs to whoever made the
# address (an escalation's own token); the ticket is the TOKEN's.
TOKEN_RE = re.compile(r"^([0-9a-f]{32})(?:\.[0-9a-z]{1,40})?$")


@dataclass(frozen=True)
class ThreadMatch:
    ticket: Ticket
    how: str  # token | subject | references
    stranger: bool = False


def _final(ticket: Ticket) -> Ticket:
    """A merged ticket's mail goes to the ticket it was merged into."""
    seen = {ticket.pk}
    while ticket.merged_into_id is not None and ticket.merged_into_id not in seen:
        seen.add(ticket.merged_into_id)
        ticket = Ticket.objects.select_related("team", "requester").get(pk=ticket.merged_into_id)
    return ticket


def _tokens(parsed: ParsedMail) -> list[str]:
    addresses = [a.email for a in (*parsed.to, *parsed.cc)] + list(parsed.delivered_to)
    found = []
    for address in addresses:
        local = address.lower().partition("@")[0]
        if "+" in local:
            match = TOKEN_RE.match(local.split("+", 1)[1])
            if match:
                found.append(match.group(1))
    return found


def participants(ticket: Ticket) -> set[str]:
    """Everyone who has a part in the ticket: the requester, every sender and recipient of its
    mail, and the team's desk members."""
    people = {ticket.requester.email.lower()}
    for sender, recipients in Message.objects.filter(ticket=ticket).values_list(
        "sender_email", "recipients"
    ):
        people.add(sender.lower())
        people.update(r.strip().lower() for r in recipients.split(",") if r.strip())
    people.update(
        email.lower()
        for email in Membership.objects.filter(team=ticket.team, role__in=DESK_ROLES)
        .values_list("user__email", flat=True)
        .distinct()
    )
    people.discard("")
    return people


def reference_ids(parsed: ParsedMail) -> list[str]:
    """Message-IDs that can place a mail in a thread, most telling first: the mail a bounce
    returns, then In-Reply-To, then References from the newest back."""
    bounced = [parsed.bounce.original_message_id] if parsed.bounce else []
    ids = (*bounced, *reversed(parsed.in_reply_to), *reversed(parsed.references))
    return [i for i in dict.fromkeys(ids) if i]


def needs_lookup_by_address_or_tag(team: Team, parsed: ParsedMail) -> bool:
    return bool(_tokens(parsed) or subject_tags(parsed.subject, [team.ticket_prefix]))


def thread_find(team: Team, parsed: ParsedMail) -> ThreadMatch | None:
    tickets = Ticket.objects.filter(team=team).select_related("team", "requester")
    tokens = _tokens(parsed)
    if tokens:
        ticket = tickets.filter(reply_token__in=tokens).first()
        if ticket is not None:
            return ThreadMatch(_final(ticket), "token")
    ids = reference_ids(parsed)
    if ids:
        for model in (Message, OutboundMail):
            ticket_id = (
                model.objects.filter(team=team, message_id__in=ids)
                .exclude(ticket=None)
                .values_list("ticket_id", flat=True)
                .first()
            )
            if ticket_id is not None:
                return ThreadMatch(_final(tickets.get(pk=ticket_id)), "references")
    for prefix, number in subject_tags(parsed.subject, [team.ticket_prefix]):
        ticket = tickets.filter(number=number).first()
        if ticket is None or prefix.upper() != team.ticket_prefix:
            continue
        sender = parsed.sender.email.lower() if parsed.sender else ""
        ticket = _final(ticket)
        return ThreadMatch(ticket, "subject", stranger=sender not in participants(ticket))
    return None
