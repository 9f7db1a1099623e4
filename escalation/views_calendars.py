"""The team's calendars page: the working calendars a coordinator keeps, which one is the
team's, and which expert groups, clouds and sites count in one of their own."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from escalation.models import ExpertGroup
from escalation.selectors import GROUPS_CACHED
from people.access import is_coordinator
from people.forms import WorkingCalendarForm
from people.models import Team, WorkingCalendar
from people.selectors import teams_for_desk_user
from people.teamcache import team_cache_forget


def _team(request: HttpRequest) -> Team:
    teams = list(teams_for_desk_user(request.user))
    slug = request.GET.get("team") or request.POST.get("team")
    team = next((t for t in teams if t.slug == slug), None) if slug else None
    if team is None and teams and not slug:
        team = teams[0]
    if team is None:
        raise Http404("No such team")
    return team


def _back(team: Team) -> HttpResponse:
    return redirect(f"{reverse('team-calendars')}?team={team.slug}")


@login_required
def team_calendars(request: HttpRequest) -> HttpResponse:
    """Everyone on the desk reads it; coordinators choose the team's calendar and the
    groups' own here (POST), and edit the calendars on their own pages."""
    team = _team(request)
    assert isinstance(request.user, User)
    may_edit = is_coordinator(team, request.user)
    calendars = {str(c.pk): c for c in WorkingCalendar.objects.filter(team=team)}
    groups = list(ExpertGroup.objects.filter(team=team, active=True).select_related("cloud"))
    errors: list[str] = []
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied("Only coordinators choose the team's calendars.")
        chosen = {"team": request.POST.get("team_calendar", "")}
        chosen |= {str(g.pk): request.POST.get(f"group-{g.pk}", "") for g in groups}
        errors = [
            f"Unknown calendar {value!r}: choose one of the list."
            for value in chosen.values()
            if value and value not in calendars
        ]
        if not errors:
            _choose(team, groups, chosen, calendars)
            messages.success(request, "Calendars saved.")
            return _back(team)
    return render(
        request,
        "escalation/calendars.html",
        {
            "team": team,
            "calendars": list(calendars.values()),
            "groups": groups,
            "may_edit": may_edit,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


def _choose(
    team: Team,
    groups: list[ExpertGroup],
    chosen: dict[str, str],
    calendars: dict[str, WorkingCalendar],
) -> None:
    """Save the team's and the groups' choices that changed (each save is audited)."""
    with transaction.atomic():
        team_calendar = calendars.get(chosen["team"])
        if team.calendar_id != (team_calendar.pk if team_calendar else None):
            team.calendar = team_calendar
            team.save(update_fields=["calendar"])
        for group in groups:
            calendar = calendars.get(chosen[str(group.pk)])
            if group.calendar_id != (calendar.pk if calendar else None):
                group.calendar = calendar
                group.save(update_fields=["calendar"])
        transaction.on_commit(lambda: team_cache_forget(team.pk, GROUPS_CACHED))


@login_required
def calendar_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    team = _team(request)
    assert isinstance(request.user, User)
    if not is_coordinator(team, request.user):
        raise PermissionDenied("Only coordinators keep the team's calendars.")
    calendar = get_object_or_404(WorkingCalendar, pk=pk, team=team) if pk else None
    form = WorkingCalendarForm(request.POST or None, instance=calendar, team=team)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"Calendar “{saved.name}” saved: {saved.label}.")
        return _back(team)
    return render(
        request,
        "escalation/calendar_edit.html",
        {"team": team, "calendar": calendar, "form": form},
        status=400 if form.errors else 200,
    )
