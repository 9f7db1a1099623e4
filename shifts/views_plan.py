"""The coordinators' calendar tools: the rotation, a plan's preview and its apply (rotation
or copy), several ticked slots assigned at once, swap approval and the team's calendar
settings. Each view answers 403 to anyone but the team's coordinators."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from people.access import is_coordinator
from people.models import Team
from people.names import display_name
from shifts.forms import AssignForm, PlanForm, RotationRuleForm, form_errors
from shifts.models import RotationRule, Zone
from shifts.planning import (
    Plan,
    plan_apply,
    plan_make,
    rotation_rule_delete,
    rotation_rule_save,
    shift_settings_save,
    slots_assign,
)
from shifts.rules import ShiftError, ShiftForbidden
from shifts.selectors import rotation_rules, shifters
from shifts.views import back_to_day, month_url, team_of_request


def _coordinated_team(request: HttpRequest) -> tuple[Team, User]:
    team = team_of_request(request)
    user = request.user
    assert isinstance(user, User)
    if not is_coordinator(team, user):
        raise PermissionDenied(f"The calendar's tools are for {team.name}'s coordinators.")
    return team, user


def _zones(team: Team) -> list[Zone]:
    return list(Zone.objects.filter(team=team))


def _what(plan: Plan) -> str:
    spec = plan.spec
    assert spec is not None
    zone = f"{spec.zone} " if spec.zone else ""
    if spec.kind == "rotation":
        return f"the {zone}rotation onto {spec.target:%B %Y}"
    assert spec.source is not None
    if spec.kind == "copy-week":
        return (
            f"the {zone}week of {spec.source:%a %d %b} onto the week of {spec.target:%a %d %b %Y}"
        )
    return f"{zone}{spec.source:%B %Y} onto {spec.target:%B %Y}"


def _slots(count: int) -> str:
    return f"{count} slot{'s' if count != 1 else ''}"


def _preview(request: HttpRequest, team: Team, form: PlanForm, status: int = 200) -> HttpResponse:
    plan = None
    if form.is_valid():
        try:
            plan = plan_make(team=team, spec=form.spec())
        except ShiftError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
    return render(
        request,
        "shifts/plan.html",
        {
            "team": team,
            "form": form,
            "errors": form_errors(form),
            "plan": plan,
            "what": _what(plan) if plan else "",
        },
        status=400 if form.errors else status,
    )


@login_required
def plan_preview(request: HttpRequest) -> HttpResponse:
    """What a rotation or a copy would book, conflicts named; a read (GET)."""
    team, _ = _coordinated_team(request)
    return _preview(request, team, PlanForm(request.GET, zones=_zones(team)))


@login_required
@require_POST
def plan_apply_view(request: HttpRequest) -> HttpResponse:
    team, user = _coordinated_team(request)
    form = PlanForm(request.POST, zones=_zones(team))
    if not form.is_valid():
        return _preview(request, team, form)
    try:
        plan = plan_apply(
            team=team, spec=form.spec(), fingerprint=request.POST.get("fingerprint", ""), by=user
        )
    except ShiftForbidden as error:
        raise PermissionDenied(error.message) from None
    except ShiftError as error:
        messages.error(request, error.message)
        return _preview(request, team, form, status=409)
    kept = len(plan.conflicts)
    tail = f"; {_slots(kept)} that conflicted kept as they were." if kept else "."
    messages.success(request, f"Booked {_slots(len(plan.new))} from {_what(plan)}{tail}")
    spec = plan.spec
    assert spec is not None
    return redirect(month_url(team, spec.target))


@login_required
def rotation(request: HttpRequest) -> HttpResponse:
    """The team's rotation rules; POST adds one (or changes a person's rule in a zone)."""
    team, user = _coordinated_team(request)
    zones = _zones(team)
    people = shifters(team)
    form = RotationRuleForm(request.POST or None, zones=zones, people=people)
    if request.method == "POST" and form.is_valid():
        person, role = form.cleaned_data["person"]
        try:
            rotation_rule_save(
                zone=form.zones[form.cleaned_data["zone"]],
                person=person,
                role=role,
                weekdays="".join(form.cleaned_data["weekdays"]),
                by=user,
            )
        except ShiftError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"{display_name(person)} is in the rotation.")
            return redirect(f"{reverse('shift-rotation')}?{urlencode({'team': team.slug})}")
    month = timezone.now().date().replace(day=1)
    return render(
        request,
        "shifts/rotation.html",
        {
            "team": team,
            "form": form,
            "errors": form_errors(form),
            "rules": rotation_rules(team),
            "month": request.GET.get("month") or f"{month:%Y-%m}",
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def rotation_delete(request: HttpRequest, pk: int) -> HttpResponse:
    team, user = _coordinated_team(request)
    rule = get_object_or_404(
        RotationRule.objects.select_related("zone__team"), pk=pk, zone__team=team
    )
    rotation_rule_delete(rule=rule, by=user)
    messages.success(
        request, f"{display_name(rule.person)} is out of the {rule.zone.code} rotation."
    )
    return redirect(f"{reverse('shift-rotation')}?{urlencode({'team': team.slug})}")


@login_required
@require_POST
def assign_many(request: HttpRequest) -> HttpResponse:
    """One person onto every ticked slot; the slots the calendar refuses are named."""
    team, user = _coordinated_team(request)
    form = AssignForm(request.POST, people=shifters(team))
    month = request.POST.get("month", "")
    back = f"{reverse('shift-calendar')}?{urlencode({'team': team.slug, 'month': month})}"
    if not form.is_valid():
        for error in form_errors(form):
            messages.error(request, error)
        return redirect(back)
    person, role = form.cleaned_data["person"]
    try:
        plan = slots_assign(
            team=team, slots=form.cleaned_data["slots"], person=person, role=role, by=user
        )
    except ShiftError as error:
        label = {"person": "Person: ", "slot": "Slot: "}.get(error.field or "", "")
        messages.error(request, label + error.message)
        return redirect(back)
    if plan.new:
        messages.success(request, f"{display_name(person)} is booked on {_slots(len(plan.new))}.")
    for line in plan.skipped:
        messages.warning(
            request, f"Not booked on {line.zone.code} {line.day:%a %d %b}: {line.why}."
        )
    return redirect(back)


@login_required
@require_POST
def settings_save(request: HttpRequest) -> HttpResponse:
    team, user = _coordinated_team(request)
    need = request.POST.get("swaps_need_approval") == "on"
    shift_settings_save(team=team, swaps_need_approval=need, by=user)
    messages.success(
        request,
        "Swaps now wait for a coordinator to approve them."
        if need
        else "Swaps take effect when the asked shifter accepts.",
    )
    return redirect(back_to_day(team, timezone.now().date(), anchor="swaps"))
