"""The ticket page's actions (POST only, CSRF-checked, back to the ticket with a message):
reply, note, fields, assignment, merge, link, trainees' drafts; and attachment downloads."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from people.names import display_name
from tickets.access import may_do, ticket_authorise
from tickets.http import attachment_download
from tickets.models import Attachment, CannedAnswer, ReplyDraft, Ticket
from tickets.presence import presence_clear
from tickets.selectors import desk_people, ticket_by_reference_for_user, ticket_get_for_user
from tickets.services.desk import (
    DeskError,
    reply_draft_decide,
    ticket_answer,
    ticket_give,
    ticket_link,
    ticket_merge,
    ticket_note,
    ticket_update,
)

Action = Callable[..., str]  # (request, ticket, user, **url kwargs) -> what was done


def ticket_action(action: Action) -> Callable[..., HttpResponse]:
    """Find the ticket among the caller's (404 otherwise, as for a ticket that does not
    exist), check they may do this action to it (403: ``tickets.access``'s one rule), run
    the action, and show its outcome or its refusal on the ticket page."""

    @login_required
    @require_POST
    @wraps(action)
    def view(request: HttpRequest, reference: tuple[str, int], **kwargs: Any) -> HttpResponse:
        found = ticket_get_for_user(request.user, prefix=reference[0], number=reference[1])
        ticket = ticket_authorise(request.user, found, action.__name__)
        assert isinstance(request.user, User)
        try:
            done = action(request, ticket, request.user, **kwargs)
        except DeskError as error:
            messages.error(request, error.message)
            if request.POST.get("body"):
                # Keep what was typed: it comes back in the reply box.
                request.session[f"draft-{ticket.pk}"] = request.POST["body"][:100_000]
        else:
            if done:
                messages.success(request, done)
        return redirect(ticket)

    return view


def _other(request: HttpRequest, field: str, action: str) -> Ticket:
    """The other ticket of a merge or a link: changed too, so the caller must act on it."""
    text = request.POST.get(field, "").strip()
    other = ticket_by_reference_for_user(request.user, text)
    if other is None or not may_do(request.user, other, action):
        raise DeskError(f"No ticket “{text[:40]}” that you work on.", field=field)
    return other


@ticket_action
def reply(request: HttpRequest, ticket: Ticket, user: User) -> str:
    canned_id = request.POST.get("canned", "")
    canned = (
        CannedAnswer.objects.filter(team_id=ticket.team_id, pk=canned_id).first()
        if canned_id.isdigit()
        else None
    )
    result = ticket_answer(
        ticket=ticket, author=user, body_text=request.POST.get("body", ""), canned=canned
    )
    request.session.pop(f"draft-{ticket.pk}", None)
    presence_clear(ticket_pk=ticket.pk, user=user)
    if isinstance(result, ReplyDraft):
        return "Your reply waits for the shifter you shadow to approve it."
    return f"Reply sent to {ticket.requester.email}."


@ticket_action
def note(request: HttpRequest, ticket: Ticket, user: User) -> str:
    ticket_note(ticket=ticket, author=user, body_text=request.POST.get("body", ""))
    presence_clear(ticket_pk=ticket.pk, user=user)
    return "Note added."


@ticket_action
def update(request: HttpRequest, ticket: Ticket, user: User) -> str:
    priority = request.POST.get("priority")
    if priority is not None and not priority.isdigit():
        raise DeskError(f"“{priority[:10]}” is not a priority.", field="priority")
    changed = ticket_update(
        ticket=ticket,
        status=request.POST.get("status"),
        category=request.POST.get("category"),
        priority=int(priority) if priority else None,
        by=user,
    )
    return ("Changed: " + ", ".join(changed) + ".") if changed else ""


@ticket_action
def assign(request: HttpRequest, ticket: Ticket, user: User) -> str:
    choice = request.POST.get("to", "")
    if choice == "me":
        person: User | None = user
    elif choice == "":
        person = None
    else:
        person = next((p for p in desk_people(ticket.team_id) if str(p.pk) == choice), None)
        if person is None:
            raise DeskError("Choose someone of the team.", field="to")
    ticket_give(ticket=ticket, assignee=person, by=user)
    return f"Assigned to {display_name(person)}." if person else "Unassigned."


@ticket_action
def merge(request: HttpRequest, ticket: Ticket, user: User) -> str:
    into = _other(request, "into", "merge")
    moved = ticket_merge(ticket=ticket, into=into, by=user)
    return f"Merged into {into.reference} ({moved} messages moved)."


@ticket_action
def link(request: HttpRequest, ticket: Ticket, user: User) -> str:
    other = _other(request, "other", "link")
    ticket_link(ticket=ticket, other=other, kind=request.POST.get("kind", "related"), by=user)
    return f"Linked to {other.reference}."


@ticket_action
def draft(request: HttpRequest, ticket: Ticket, user: User, pk: int) -> str:
    item = get_object_or_404(ReplyDraft.objects.select_related("ticket"), pk=pk, ticket=ticket)
    approve = request.POST.get("decision") == "approve"
    reply_draft_decide(
        draft=item,
        by=user,
        approve=approve,
        body_text=request.POST.get("body", ""),
        comment=request.POST.get("comment", ""),
    )
    return "Draft approved and sent." if approve else "Draft sent back to the trainee."


@login_required
@require_GET
def attachment(request: HttpRequest, reference: tuple[str, int], pk: int) -> HttpResponseBase:
    """An attachment of a ticket the caller can see; always a download, never rendered."""
    ticket = ticket_get_for_user(request.user, prefix=reference[0], number=reference[1])
    if ticket is None:
        raise Http404("No such ticket")
    return attachment_download(get_object_or_404(Attachment, pk=pk, message__ticket=ticket))
