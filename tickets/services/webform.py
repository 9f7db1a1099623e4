"""The support request form's write: a web ticket whose first message holds the request.

    support_request_submit(team=, data=, files=, ip=)  -> the ticket, or None for a bot

The structured fields go into the message body as labelled lines ("JEDI task: 15934870"), so
that shifters, search and the grid-id links read them like any mail. Routing and the
acknowledgement are not done here: ``ticket_open`` records the ticket opened, and the event
log's routing consumer (escalation.consumers) routes it and queues the acknowledgement.

Spam: a hidden field people leave empty (whoever fills it is told "thank you" and nothing is
stored), and a limit per client network and per address (settings.RATE_LIMITS'
``support-ip`` and ``support-email``, counted by common.ratelimit).
"""

from __future__ import annotations

import logging
import mimetypes
import re
from collections.abc import Sequence

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from common import ratelimit
from common.net import client_network
from common.ratelimit import Limited, hit
from people.models import Team
from tickets.mail.mailstore import store_attachments
from tickets.mail.mime import safe_filename
from tickets.mail.parse import ParsedAttachment
from tickets.models import Message, MessageKind, Ticket
from tickets.services.tickets import Sender, ticket_open
from tickets.support import SupportRequest

log = logging.getLogger(__name__)

_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]{0,60}/[a-z0-9][a-z0-9.+-]{0,120}")


def support_request_submit(
    *, team: Team, data: SupportRequest, files: Sequence[UploadedFile] = (), ip: str
) -> Ticket | None:
    """Open a web ticket for a validated request, with its files. None when the honeypot was
    filled: the caller thanks the bot as if it had worked. Raises ``Limited`` past the limit
    of the client network (an IPv4 address, an IPv6 /64) or of the address."""
    network = client_network(ip)
    if data.honeypot:
        log.info("support form: hidden field filled from %s, nothing stored", network)
        return None
    try:
        ratelimit.take(hit("support-ip", network), hit("support-email", data.email))
    except Limited as over:
        log.info("support form: %s over the limit (%s)", over.hit.scope, network)
        raise
    parts = [_attachment(number, f) for number, f in enumerate(files, start=1)]
    with transaction.atomic():
        ticket = ticket_open(
            team=team,
            sender=Sender(data.email, data.name),
            subject=data.subject,
            body_text=support_body(data),
            kind=MessageKind.WEB,
            category=data.category,
        )
        if parts:
            store_attachments(Message.objects.get(ticket=ticket), parts)
    # Routing ran on commit: the caller may say whether a shifter is on duty.
    ticket.refresh_from_db(fields=["assignee", "after_hours"])
    return ticket


def support_body(data: SupportRequest) -> str:
    """The message text: what happened, then one labelled line per detail, then the command
    and the error as blocks of their own."""

    def label(word: str, count: int) -> str:
        return f"{word}s" if count > 1 else word

    lines = [
        f"{label('JEDI task', len(data.tasks))}: {', '.join(map(str, data.tasks))}"
        if data.tasks
        else "",
        f"{label('PanDA job', len(data.jobs))}: {', '.join(map(str, data.jobs))}"
        if data.jobs
        else "",
        f"Site/queue: {', '.join(data.sites)}" if data.sites else "",
        f"Release: {data.release}" if data.release else "",
    ]
    if len(data.datasets) == 1:
        lines.append(f"Dataset: {data.datasets[0]}")
    elif data.datasets:
        lines.append("Datasets:\n" + "\n".join(f"  {d}" for d in data.datasets))
    blocks = [data.description, "\n".join(line for line in lines if line)]
    if data.command:
        blocks.append(f"Command:\n{data.command}")
    if data.error:
        blocks.append(f"Error message or log excerpt:\n{data.error}")
    return "\n\n".join(b for b in blocks if b) + "\n"


def _attachment(number: int, upload: UploadedFile) -> ParsedAttachment:
    content = b"".join(upload.chunks())
    name = safe_filename(upload.name or "")
    ctype = (upload.content_type or "").lower().partition(";")[0].strip()
    if not _CONTENT_TYPE.fullmatch(ctype):
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return ParsedAttachment(
        filename=name or f"attachment-{number}.bin",
        content_type=ctype,
        content=content,
        size=len(content),
        content_id="",
        inline=False,
        dropped="",
    )
