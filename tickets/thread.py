"""The ticket page's thread, each message rendered once and kept in the cache.

A message barely changes after intake, and rendering it (quote folding, sanitising its HTML
again, dates in the viewer's zone, escaping a long body) is most of the page's time. Each
message's HTML is cached under a key made of everything it shows that can change: its kind and
verification, the ticket it sits in (merges move messages), the author's name, its
attachments, the viewer's time zone, and a digest of what renders it (the sanitiser's
configuration, the message template and the filters it loads): a tightened sanitiser or a
changed template reaches every cached message at once. A miss renders it; the whole thread
costs one ``get_many`` and at most one ``set_many``.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Sequence
from functools import cache

from django.contrib.auth.models import User
from django.template.loader import get_template, render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

from people.templatetags import people as people_filters
from tickets.caching import cached_each
from tickets.mail import html as sanitiser
from tickets.models import DraftState, Message, MessageKind, ReplyDraft, Ticket
from tickets.templatetags import desk as desk_filters

MESSAGE_TEMPLATE = "tickets/_message.html"
CACHE_SECONDS = 7 * 86400


@cache
def render_digest() -> str:
    """Everything that decides how a message renders, as one digest (read once per process:
    templates and code change with a deploy, which restarts it)."""
    template = get_template(MESSAGE_TEMPLATE).template  # type: ignore[attr-defined]
    parts = (
        sanitiser.SANITISER_DIGEST,
        template.source,
        inspect.getsource(desk_filters),
        inspect.getsource(people_filters),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _key(ticket: Ticket, message: Message, zone: str) -> str:
    author = message.author
    parts = (
        render_digest(),
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
    approvers: dict[int, User] | None = None

    def render(i: int) -> str:
        nonlocal approvers
        if approvers is None:  # one query at the first miss, for the whole thread
            approvers = _approvers(messages)
        message = messages[i]
        context = {"ticket": ticket, "message": message, "approver": approvers.get(message.pk)}
        return render_to_string(MESSAGE_TEMPLATE, context)

    html = cached_each([_key(ticket, m, zone) for m in messages], render, CACHE_SECONDS)
    # Our own rendering of sanitised, escaped content (the cache is the desk's own server).
    return [SafeString(part) for part in html]


def _approvers(messages: Sequence[Message]) -> dict[int, User]:
    """Who approved each of these replies that went out as a trainee's draft, by message
    (set once, when the reply is sent: it never changes a cached message)."""
    replies = [m.pk for m in messages if m.kind == MessageKind.EMAIL_OUT]
    if not replies:
        return {}
    drafts = ReplyDraft.objects.filter(
        message_id__in=replies, state=DraftState.SENT, decided_by__isnull=False
    ).select_related("decided_by")
    return {d.message_id: d.decided_by for d in drafts if d.message_id and d.decided_by}
