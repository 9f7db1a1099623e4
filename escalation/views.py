"""The escalation panel of the ticket page and its actions (escalate, cancel, add a
reference). The panel is registered with tickets.panels in EscalationConfig.ready()."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST

from escalation import bridges
from escalation.models import Escalation, EscalationState, GroupKind
from escalation.selectors import group_choices, groups_for_team, ticket_escalations
from escalation.services import EscalationError, escalation_cancel, escalation_create
from people.access import may_act
from tickets.access import ticket_authorise
from tickets.gridtext import find_ids
from tickets.models import ExternalRef, Ticket
from tickets.selectors import ticket_get_for_user
from tickets.services import external_refs_add


def panel(request: HttpRequest, ticket: Ticket) -> str:
    data = ticket_escalations(ticket)
    groups = group_choices(ticket.team)
    return render_to_string(
        "escalation/panel.html",
        {
            "ticket": ticket,
            "data": data,
            "groups_by_kind": [
                (label, [g for g in groups if g.kind == kind]) for kind, label in GroupKind.choices
            ],
            "now": timezone.now(),
            "waiting": EscalationState.WAITING,
            "may_act": may_act(request.user, ticket.team_id),
            "bridges": bridges.offered(),
        },
        request=request,
    )


def _ticket(request: HttpRequest, reference: tuple[str, int], action: str) -> Ticket:
    """A ticket the caller works on: 404 if they cannot see it, 403 if they only see it (an
    expert reads the tickets escalated to their group, and acts by mail)."""
    found = ticket_get_for_user(request.user, prefix=reference[0], number=reference[1])
    return ticket_authorise(request.user, found, action)


@login_required
@require_POST
def escalate(request: HttpRequest, reference: tuple[str, int]) -> HttpResponse:
    ticket = _ticket(request, reference, "escalate")
    assert isinstance(request.user, User)
    group_id, ref_id = request.POST.get("group", ""), request.POST.get("external_ref", "")
    group = next((g for g in groups_for_team(ticket.team) if str(g.pk) == group_id), None)
    ref = ExternalRef.objects.filter(ticket=ticket, pk=ref_id).first() if ref_id.isdigit() else None
    try:
        if group_id and group is None:
            raise EscalationError("Unknown group for this team.", field="group")
        esc = escalation_create(
            ticket=ticket,
            by=request.user,
            note=request.POST.get("note", ""),
            group=group,
            external_ref=ref,
            override_hold=request.POST.get("override_hold") == "1",
            also=request.POST.getlist("also"),
        )
    except EscalationError as error:
        messages.error(request, error.message)
    else:
        held = esc.outbound is not None and esc.outbound.next_attempt_at > timezone.now()
        messages.success(
            request,
            f"Escalated to {esc.target_name}"
            + (" — held while the site is in a declared outage (see the note)." if held else "."),
        )
    return redirect(ticket)


@login_required
@require_POST
def cancel(request: HttpRequest, reference: tuple[str, int], pk: int) -> HttpResponse:
    ticket = _ticket(request, reference, "escalation-cancel")
    assert isinstance(request.user, User)
    esc = get_object_or_404(Escalation, pk=pk, ticket=ticket)
    try:
        escalation_cancel(escalation=esc, by=request.user)
    except EscalationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Escalation to {esc.target_name} cancelled.")
    return redirect(ticket)


@login_required
@require_POST
def add_ref(request: HttpRequest, reference: tuple[str, int]) -> HttpResponse:
    """A JIRA key or GGUS number typed by a shifter (or pasted as a URL)."""
    ticket = _ticket(request, reference, "add-ref")
    assert isinstance(request.user, User)
    text = request.POST.get("ref", "").strip()
    ids = find_ids(text, jira_projects=settings.JIRA_PROJECTS)
    refs = [("jira", k) for k in ids.jira] + [("ggus", str(n)) for n in ids.ggus]
    if not refs and text.isdigit() and 5 <= len(text) <= 7:
        refs = [("ggus", text)]
    if not refs:
        messages.error(
            request,
            f"“{text[:60]}” is not a JIRA key of a known project ("
            f"{', '.join(settings.JIRA_PROJECTS[:4])}, …) or a GGUS ticket number.",
        )
    else:
        external_refs_add(ticket=ticket, refs=refs, by=request.user)
        messages.success(request, "Reference added: " + ", ".join(k for _, k in refs))
    return redirect(ticket)
