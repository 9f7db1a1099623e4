"""The requester's page ("my requests"): sign-in by a mailed one-time link, their tickets,
their threads, replies, attachments.

A requester is not a Django user: the session holds ``requester_id`` (and when that sign-in
ends), apart from staff authentication. What a requester may see is decided in
``tickets.services.requester_access``; these views only authorise, validate and render.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common import ratelimit
from common.net import client_ip
from tickets.http import attachment_download
from tickets.mail.html import sanitise
from tickets.mail.quotes import find_quote_start
from tickets.models import Attachment, Message, MessageKind, Requester, Status, Ticket
from tickets.services.requester_access import (
    MAX_REPLY_CHARS,
    SIGNIN_LINK_MINUTES,
    ReplyRefused,
    reply_opens_follow_up,
    requester_attachment,
    requester_reply,
    requester_thread,
    requester_ticket,
    requester_tickets,
    signin_link_send,
    signin_link_use,
    thread_ticket,
)

SESSION_REQUESTER = "requester_id"
SESSION_UNTIL = "requester_until"
SESSION_LINK_SENT = "requester_link_sent_to"
SIGNED_IN_SECONDS = 7 * 24 * 3600
PAGE_SIZE = 25
# Nothing on these pages runs script; mail shown in them could try. Images only from here or
# inside the mail (data:), so a message cannot tell its sender when it was read.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
# What a requester reads for each status: plain words, no desk jargon.
STATUS_WORDS = {
    Status.NEW: "Received",
    Status.OPEN: "In progress",
    Status.WAITING_ON_USER: "Waiting for your reply",
    Status.WAITING_ON_EXPERT: "With the experts",
    Status.RESOLVED: "Resolved",
    Status.CLOSED: "Closed",
}
# A line of prose that a mail program wrapped (long, not indented, not a list or a quote).
_WRAPPED_MIN = 55
_KEEP_LINE = re.compile(r"^(?:\s|>|[-*•+]\s|\d+[.)]\s)")

View = Callable[..., HttpResponseBase]


def _hardened(view: View) -> View:
    """Personal pages: never cached, and no script may run whatever a mail contains."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response.headers.setdefault("Content-Security-Policy", CSP)
        add_never_cache_headers(response)
        return response

    return wrapped


class EmailForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        label="Your e-mail address",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your reply",
        max_length=MAX_REPLY_CHARS,
        widget=forms.Textarea(attrs={"rows": 6}),
    )


@dataclass
class Shown:
    """One message as the requester reads it."""

    message: Message
    mine: bool
    who: str
    html: SafeString | None = None
    text: str = ""
    quoted: str = ""
    attachments: list[Attachment] = field(default_factory=list)


def _signed_in(request: HttpRequest) -> Requester | None:
    pk = request.session.get(SESSION_REQUESTER)
    until = request.session.get(SESSION_UNTIL, 0)
    if not pk or until < time.time():
        return None
    return Requester.objects.filter(pk=pk).first()


def _sign_in_page(request: HttpRequest, *, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("form", EmailForm())
    context["minutes"] = SIGNIN_LINK_MINUTES
    return render(request, "requester/signin.html", context, status=status)


@_hardened
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    requester = _signed_in(request)
    if requester is None:
        return _sign_in_page(request)
    page = Paginator(requester_tickets(requester), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(ticket, STATUS_WORDS[Status(ticket.status)]) for ticket in page]
    return render(
        request, "requester/tickets.html", {"requester": requester, "page": page, "rows": rows}
    )


@_hardened
@require_POST
def signin_request(request: HttpRequest) -> HttpResponse:
    form = EmailForm(request.POST)
    if not form.is_valid():
        return _sign_in_page(request, form=form, status=400)
    email = form.cleaned_data["email"]
    try:
        signin_link_send(email=email, ip=client_ip(request))
    except ratelimit.Limited:
        return _sign_in_page(
            request,
            form=form,
            status=429,
            problem="Too many sign-in links were asked for in the last hour. "
            "Please wait a while, or use the newest link you received.",
        )
    # Known address or not, the same redirect and the same page: nobody learns who wrote to us.
    request.session[SESSION_LINK_SENT] = email
    return redirect("requester-link-sent")


@_hardened
@require_GET
def link_sent(request: HttpRequest) -> HttpResponse:
    email = request.session.get(SESSION_LINK_SENT)
    if not email:
        return redirect("requester-home")
    return render(
        request, "requester/link_sent.html", {"email": email, "minutes": SIGNIN_LINK_MINUTES}
    )


@_hardened
@require_http_methods(["GET", "POST"])
def signin(request: HttpRequest, token: str) -> HttpResponse:
    """GET only shows a button: mail scanners open links, and must not use them up."""
    if request.method == "GET":
        # The token in this URL leaves no trace elsewhere: SECURE_REFERRER_POLICY is
        # same-origin (no-referrer here would make the browser post Origin: null, which CSRF
        # refuses), and the page is never cached.
        return render(request, "requester/signin_confirm.html")
    if not ratelimit.allow(ratelimit.hit("requester-signin-use", client_ip(request))):
        return _sign_in_page(
            request, status=429, problem="Too many sign-in attempts. Please try again later."
        )
    requester = signin_link_use(token=token, at=timezone.now())
    if requester is None:
        return _sign_in_page(
            request,
            status=400,
            problem="This sign-in link has expired or was used already. Ask for a new one below.",
        )
    request.session.cycle_key()  # a new session key: one planted beforehand is worth nothing
    request.session[SESSION_REQUESTER] = requester.pk
    request.session[SESSION_UNTIL] = int(time.time()) + SIGNED_IN_SECONDS
    request.session.pop(SESSION_LINK_SENT, None)
    return redirect("requester-home")


@_hardened
@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    for key in (SESSION_REQUESTER, SESSION_UNTIL):
        request.session.pop(key, None)
    request.session.cycle_key()
    messages.info(request, "You are signed out.")
    return redirect("requester-home")


def unwrap(text: str) -> str:
    """Join the lines a mail program wrapped at ~72 characters, so prose flows on a phone
    instead of breaking raggedly; short lines, indented code, lists and quotes stay."""
    out: list[str] = []
    previous = ""  # the line as written, not as joined so far
    for line in text.split("\n"):
        if (
            len(previous) >= _WRAPPED_MIN
            and line.strip()
            and not _KEEP_LINE.match(line)
            and not _KEEP_LINE.match(previous)
            and not previous.endswith(":")
        ):
            out[-1] = f"{out[-1].rstrip()} {line.strip()}"
        else:
            out.append(line)
        previous = line
    return "\n".join(out)


def _shown(ticket: Ticket, message: Message) -> Shown:
    mine = message.kind != MessageKind.EMAIL_OUT
    who = "You" if mine else (message.sender_name or f"{ticket.team.name} help desk")
    item = Shown(message, mine, who, attachments=list(message.attachments.all()))
    if message.body_html.strip():
        # Sanitised at intake already; again here, so no other path into the table can slip
        # markup past this page.
        item.html = mark_safe(sanitise(message.body_html))  # noqa: S308
        return item
    text = message.body_text
    # Intake finds the quoted history of mail; messages written otherwise are looked at here.
    cut = message.quote_start if message.quote_start is not None else find_quote_start(text)
    if cut and text[:cut].strip():
        item.text, item.quoted = unwrap(text[:cut].rstrip()), text[cut:].strip()
    else:
        item.text = unwrap(text)
    return item


@_hardened
@require_http_methods(["GET", "POST"])
def ticket_page(request: HttpRequest, reference: str) -> HttpResponse:
    requester = _signed_in(request)
    if requester is None:
        return redirect("requester-home")
    prefix, number = reference.rsplit("-", 1)
    ticket = requester_ticket(requester, prefix=prefix, number=int(number))
    if ticket is None:
        # The same answer for "no such ticket" and "someone else's".
        raise Http404("No such request")
    thread = thread_ticket(ticket)
    if thread.pk != ticket.pk and thread.requester_id == requester.pk:
        return redirect(thread.get_requester_url())
    form = ReplyForm(request.POST if request.method == "POST" else None)
    status = 400 if form.is_bound else 200  # a bound form still here was refused
    if form.is_bound and form.is_valid():
        try:
            message = requester_reply(
                requester=requester,
                ticket=ticket,
                body_text=form.cleaned_data["body"],
                at=timezone.now(),
            )
        except ReplyRefused as refused:
            form.add_error("body", str(refused))
        except ratelimit.Limited:
            form.add_error(None, "You have sent many replies in the last hour. Please wait.")
            status = 429
        else:
            landed = message.ticket
            messages.success(request, f"Your reply was added to {landed.reference}.")
            url = (landed if landed.requester_id == requester.pk else ticket).get_requester_url()
            return redirect(f"{url}#m{message.pk}")
    return render(
        request,
        "requester/ticket.html",
        {
            "requester": requester,
            "ticket": ticket,
            "thread": thread,
            "merged": thread.pk != ticket.pk,
            "status_words": STATUS_WORDS[Status(thread.status)],
            "items": [_shown(thread, m) for m in requester_thread(requester, thread)],
            "follow_up": reply_opens_follow_up(thread, timezone.now()),
            "form": form,
        },
        status=status,
    )


@_hardened
@require_GET
def attachment(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Always a download, never shown inline: an attachment is whatever its sender made it."""
    requester = _signed_in(request)
    if requester is None:
        return redirect("requester-home")
    found = requester_attachment(requester, pk)
    if found is None:
        raise Http404("No such attachment")
    return attachment_download(found)
