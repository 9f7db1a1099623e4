"""The public support request form: open it (pre-filled from the URL), send it, be thanked.

No sign-in. The team asked is the ``team`` slug in the URL, or the only team; with several
and none named, the form asks. The thank-you page shows only what this browser sent (kept in
its session), so its address lists nobody's ticket.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from common.net import client_ip
from common.ratelimit import Limited
from people.models import Team
from tickets.models import Ticket
from tickets.services.webform import support_request_submit
from tickets.support import SupportRequestForm

SESSION_KEY = "support_submitted"


def _fixed_team(request: HttpRequest) -> Team | None:
    """The team the URL names (404 if unknown), or the only one; None: the form asks."""
    slug = request.GET.get("team", "").strip()
    if slug:
        return get_object_or_404(Team, slug=slug)
    teams = list(Team.objects.order_by("name")[:2])
    if not teams:
        raise Http404("No support team is set up yet.")
    return teams[0] if len(teams) == 1 else None


def _page(request: HttpRequest, form: SupportRequestForm, status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "team": form.fixed_team,
        # Browsers never re-send a chosen file: say so when the form comes back.
        "files_lost": bool(request.FILES) and status != 200,
    }
    return render(request, "support/form.html", context, status=status)


@require_http_methods(["GET", "POST"])
def support_new(request: HttpRequest) -> HttpResponse:
    team = _fixed_team(request)
    if request.method == "GET":
        initial = SupportRequestForm.prefill(dict(request.GET.lists()))
        return _page(request, SupportRequestForm(initial=initial, team=team))
    form = SupportRequestForm(request.POST, request.FILES, team=team)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        ticket = support_request_submit(
            team=team or form.cleaned_data["team"],
            data=form.support_request(),
            files=form.cleaned_data["attachments"],
            ip=client_ip(request),
        )
    except Limited as over:
        form.add_error(None, _limited(over))
        return _page(request, form, status=429)
    if ticket is None:  # the honeypot: thanked like anyone, nothing stored
        request.session.pop(SESSION_KEY, None)
    else:
        request.session[SESSION_KEY] = _receipt(ticket, form)
    return redirect("support-thanks")


def _limited(over: Limited) -> str:
    source = "your network" if over.hit.scope == "support-ip" else "this e-mail address"
    rate = over.hit.rate
    window = {60: "a minute", 3600: "an hour", 86400: "a day"}.get(rate.window_s)
    return (
        f"Too many requests from {source}: the form takes at most {rate.limit} "
        f"{window or f'in {rate.window_s} seconds'}. Please try again later."
    )


def _receipt(ticket: Ticket, form: SupportRequestForm) -> dict[str, object]:
    """What the thank-you page may show: the number and what the submitter typed."""
    data = form.cleaned_data
    on_duty = True if ticket.assignee_id else False if ticket.after_hours else None
    return {
        "reference": ticket.reference,
        "team": ticket.team.name,
        "team_slug": ticket.team.slug,
        "subject": data["subject"],
        "email": data["email"],
        "files": len(data["attachments"]),
        "on_duty": on_duty,
    }


@require_GET
def support_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "support/thanks.html", {"receipt": request.session.get(SESSION_KEY)})
