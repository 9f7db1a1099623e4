"""The addresses of an escalation's mail: its reply address and its signed Message-ID, and
the check that a reply names one the desk made."""

from __future__ import annotations

import secrets

from django.utils.crypto import constant_time_compare, salted_hmac

from escalation.models import Escalation
from tickets.mail.outbox import team_sending_address


def escalation_address(esc: Escalation) -> str:
    """support+TICKETTOKEN.ESCTOKEN@host: the ticket's token threads the reply into the
    ticket; the escalation's says which escalation it answers."""
    local, _, domain = team_sending_address(esc.ticket.team).partition("@")
    return f"{local.split('+')[0]}+{esc.ticket.reply_token}.{esc.token}@{domain}"


def escalation_message_id(esc: Escalation) -> str:
    """The Message-ID of the mail to the group: a random part and a signature of it bound to
    this escalation (HMAC with SECRET_KEY). A reply that names it in In-Reply-To or
    References answers the escalation; one naming any other id (an escalation's from before
    ids were signed, or one made up in the same shape) is kept unverified."""
    nonce = secrets.token_hex(12)
    domain = team_sending_address(esc.ticket.team).partition("@")[2] or "dast-desk.invalid"
    prefix = esc.ticket.team.ticket_prefix.lower()
    return f"<{nonce}.{_message_id_signature(esc, nonce)}.{prefix}@{domain}>"


def _message_id_signature(esc: Escalation, nonce: str) -> str:
    value = f"{esc.pk}:{esc.token}:{nonce}"
    return salted_hmac("escalation.message-id", value).hexdigest()[:32]


def signed_by_desk(esc: Escalation, message_id: str) -> bool:
    """Whether ``message_id`` is one ``escalation_message_id`` made for ``esc``."""
    local = message_id.strip().strip("<>").partition("@")[0]
    nonce, _, rest = local.partition(".")
    signature = rest.partition(".")[0]
    if not nonce or not signature:
        return False
    return constant_time_compare(signature, _message_id_signature(esc, nonce))
