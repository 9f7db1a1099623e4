"""The ticket page's "someone is replying" notice (tickets.presence): the reply box tells
the desk when someone writes in it, and the page asks who else is."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from tickets.models import Ticket
from tickets.presence import presence_note, writing_now
from tickets.selectors import ticket_get_for_user


def _ticket(request: HttpRequest, reference: tuple[str, int]) -> Ticket:
    ticket = ticket_get_for_user(request.user, prefix=reference[0], number=reference[1], latest=0)
    if ticket is None:
        raise Http404("No such ticket")
    return ticket


@login_required
@require_POST
def writing(request: HttpRequest, reference: tuple[str, int]) -> HttpResponse:
    """The signed-in person writes in the ticket's reply box (anyone who may see the
    ticket may write a note in it)."""
    ticket = _ticket(request, reference)
    assert isinstance(request.user, User)
    presence_note(ticket_pk=ticket.pk, user=request.user)
    return HttpResponse(status=204)


@login_required
@require_GET
def presence(request: HttpRequest, reference: tuple[str, int]) -> HttpResponse:
    ticket = _ticket(request, reference)
    assert isinstance(request.user, User)
    response = render(
        request,
        "tickets/_presence.html",
        {
            "ticket": ticket,
            "writers": writing_now(ticket_pk=ticket.pk, viewer=request.user),
            "poll_s": settings.PRESENCE_POLL_S,
        },
    )
    response["Cache-Control"] = "no-store"
    return response
