"""The ticket page's thread, each message rendered once and kept in the cache.

A message barely changes after intake, and rendering it (quote folding, sanitising its HTML
again, dates in the viewer's zone, escaping a long body) is most of the page's time. Each
message's HTML is cached under a key made of everything it shows that can change: its kind and
verification, the ticket it sits in (merges move messages), the author's name, its
attachments, the viewer's time zone, and the version of this code. A miss renders it; the whole
thread costs one ``get_many`` and at most one ``set_many``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

from tickets.caching import cached_each
from tickets.models import Message, Ticket

# Bump when templates/tickets/_message.html or the filters it uses change what they show.
RENDER_VERSION = 1
CACHE_SECONDS = 7 * 86400


def _key(ticket: Ticket, message: Message, zone: str) -> str:
    author = message.author
    parts = (
        RENDER_VERSION,
        message.pk,
        hashlib.sha256(f"{message.body_text}\0{message.body_html}".encode()).hexdigest(),
        message.quote_start,
        message.sender_name,
        message.sender_email,
        message.created_at,
        message.kind,
        message.unverified,
        ticket.pk,
        ticket.reference,
        zone,
        (author.pk, author.get_full_name(), author.username) if author else None,
        tuple((a.pk, a.filename, bool(a.file), a.dropped) for a in message.attachments.all()),
    )
    return "thread-msg:" + hashlib.sha256(repr(parts).encode()).hexdigest()[:40]


def thread_html(ticket: Ticket, messages: Sequence[Message]) -> list[SafeString]:
    """Each message of the thread as HTML, in the order given (prefetched attachments and
    author expected)."""
    zone = timezone.get_current_timezone_name()
    html = cached_each(
        [_key(ticket, m, zone) for m in messages],
        lambda i: render_to_string(
            "tickets/_message.html", {"ticket": ticket, "message": messages[i]}
        ),
        CACHE_SECONDS,
    )
    # Our own rendering of sanitised, escaped content (the cache is the desk's own server).
    return [SafeString(part) for part in html]
