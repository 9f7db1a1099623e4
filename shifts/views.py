"""Shift pages: the month calendar (the coordinators' "shift panel"), booking, release and
swap actions, credits with a CSV export, iCal feeds and the public "On shift now" page."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from people.access import is_coordinator
from people.models import Role, Team
from people.names import display_name
from people.selectors import teams_for_desk_user
from shifts.feeds import feed_calendar
from shifts.models import (
    SWAP_OPEN_STATES,
    Booking,
    CalendarFeed,
    RotationRule,
    ShiftRole,
    SwapRequest,
    SwapState,
    Zone,
)
from shifts.selectors import (
    bookings_for_feed,
    credit_totals,
    mark_cells,
    month_grid,
    next_shift_start,
    on_duty,
    shift_settings,
    shifters,
    team_roles,
)
from shifts.services import (
    ShiftError,
    ShiftForbidden,
    booking_create,
    booking_remove,
    calendar_feed_for,
    calendar_feed_renew,
    swap_approve,
    swap_cancel,
    swap_decide,
    swap_request,
)


def team_of_request(request: HttpRequest) -> Team:
    teams = list(teams_for_desk_user(request.user))
    wanted = request.GET.get("team") or request.POST.get("team")
    for team in teams:
        if team.slug == wanted or (not wanted and team is teams[0]):
            return team
    raise Http404("No such team")


def _month(request: HttpRequest, team: Team) -> date:
    raw = request.GET.get("month", "")
    try:
        year, month = (int(part) for part in raw.split("-"))
        return date(year, month, 1)
    except ValueError:
        if raw:
            messages.error(request, f"“{raw}” is not a month (YYYY-MM); showing this month.")
        return timezone.now().astimezone(ZoneInfo(team.time_zone)).date().replace(day=1)


def month_url(team: Team, day: date) -> str:
    query = urlencode({"team": team.slug, "month": f"{day:%Y-%m}"})
    return f"{reverse('shift-calendar')}?{query}"


def back_to_day(team: Team, day: date, anchor: str = "") -> str:
    return f"{month_url(team, day)}#{anchor or f'd{day:%Y-%m-%d}'}"


@login_required
def calendar(request: HttpRequest) -> HttpResponse:
    team = team_of_request(request)
    first = _month(request, team)
    now = timezone.now()
    user = request.user
    assert isinstance(user, User)
    grid = month_grid(team, first.year, first.month)
    coordinator = is_coordinator(team, user)
    mark_cells(grid, user, now, coordinator)
    roles = team_roles(team, user)
    own_role = (
        ShiftRole.FIRST_LEVEL
        if Role.SHIFTER in roles
        else ShiftRole.TRAINEE
        if Role.TRAINEE in roles
        else None
    )
    swap_rows = SwapRequest.objects.filter(booking__zone__team=team).select_related(
        "booking__zone", "in_return__zone", "offered_by", "asked"
    )
    if not coordinator:
        swap_rows = swap_rows.filter(Q(asked=user) | Q(offered_by=user))
    swaps = list(
        swap_rows.filter(
            Q(state__in=SWAP_OPEN_STATES) | Q(decided_at__gte=now - timedelta(days=14))
        )[:50]
    )
    awaiting = {  # bookings whose swap waits for a coordinator: marked on the grid
        pk
        for s in swaps
        if s.state == SwapState.APPROVAL
        for pk in (s.booking_id, s.in_return_id)
        if pk is not None
    }
    prev_month = (first - timedelta(days=1)).replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    feeds = []
    if own_role:
        feeds.append(("Your shifts", calendar_feed_for(person=user)))
    for zone_month in grid:
        feeds.append(
            (f"All {zone_month.zone.code} shifts", calendar_feed_for(zone=zone_month.zone))
        )
    return render(
        request,
        "shifts/calendar.html",
        {
            "team": team,
            "teams": teams_for_desk_user(user),
            "grid": grid,
            "month": first,
            "prev_month": prev_month,
            "next_month": next_month,
            "coordinator": coordinator,
            "own_role": own_role,
            "picker": _picker(shifters(team)) if coordinator else "",
            "book_url": reverse("shift-book"),
            "bookings_url": reverse("shift-calendar") + "bookings/",
            "swaps": swaps,
            "awaiting": awaiting,
            "swaps_need_approval": shift_settings(team).swaps_need_approval,
            "rotation_size": RotationRule.objects.filter(zone__team=team).count()
            if coordinator
            else 0,
            "feeds": feeds,
            "notice_hours": settings.SHIFT_RELEASE_NOTICE_HOURS,
            "weights": settings.SHIFT_CREDIT_WEIGHTS,
        },
    )


def _picker(people: dict[str, list[User]]) -> str:
    """The coordinator's person picker, rendered once for every cell of the month."""
    groups = []
    for role, label in ((ShiftRole.FIRST_LEVEL, "First level"), (ShiftRole.TRAINEE, "Trainees")):
        options = format_html_join(
            "",
            '<option value="{}:{}">{}</option>',
            ((p.pk, role.value, display_name(p)) for p in people[role]),
        )
        groups.append(format_html('<optgroup label="{}">{}</optgroup>', label, options))
    return mark_safe("".join(groups))  # noqa: S308 - built from format_html pieces


@login_required
@require_POST
def book(request: HttpRequest) -> HttpResponse:
    team = team_of_request(request)
    user = request.user
    assert isinstance(user, User)
    zone = get_object_or_404(Zone, team=team, code=request.POST.get("zone", ""))
    try:
        day = date.fromisoformat(request.POST.get("day", ""))
    except ValueError:
        messages.error(request, "The day must be a date, YYYY-MM-DD.")
        return redirect(f"{reverse('shift-calendar')}?team={team.slug}")
    person, role = user, request.POST.get("role", "")
    if request.POST.get("person"):
        # "<user id>:<role>" from the coordinator's picker.
        pk, _, role = request.POST["person"].partition(":")
        person = get_object_or_404(User, pk=int(pk) if pk.isdigit() else 0)
    try:
        booking_create(zone=zone, day=day, person=person, role=role, by=user)
    except ShiftError as error:
        messages.error(request, error.message)
    else:
        who = "You are" if person == user else f"{display_name(person)} is"
        messages.success(request, f"{who} booked on {zone.code}, {day:%A %d %B}.")
    return redirect(back_to_day(team, day))


@login_required
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    booking = get_object_or_404(
        Booking.objects.select_related("zone__team", "person"),
        pk=pk,
        zone__team__in=teams_for_desk_user(user),
    )
    try:
        booking_remove(booking=booking, by=user)
    except ShiftError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"Removed: {display_name(booking.person)}, {booking.zone.code} {booking.day:%A %d %B}.",
        )
    return redirect(back_to_day(booking.zone.team, booking.day))


@login_required
def swap_new(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    booking = get_object_or_404(Booking.objects.select_related("zone__team"), pk=pk, person=user)
    team = booking.zone.team
    candidates = [p for p in shifters(team)[booking.role] if p.pk != user.pk]
    theirs = (
        Booking.objects.filter(
            zone__team=team, person__in=candidates, day__gte=timezone.now().date()
        )
        .select_related("zone", "person")
        .order_by("day", "zone__starts_at")
    )
    error = None
    if request.method == "POST":
        asked = next((p for p in candidates if str(p.pk) == request.POST.get("asked")), None)
        back_pk = request.POST.get("in_return", "")
        in_return = next((b for b in theirs if str(b.pk) == back_pk), None)
        if asked is None:
            error = "Choose who you ask."
        elif back_pk and in_return is None:
            error = "That slot in return is not one you can take."
        else:
            try:
                swap_request(
                    booking=booking,
                    asked=asked,
                    by=user,
                    in_return=in_return,
                    note=request.POST.get("note", "")[:300],
                )
            except ShiftError as refusal:
                error = refusal.message
            else:
                messages.success(request, f"Swap request sent to {display_name(asked)}.")
                return redirect(back_to_day(team, booking.day))
    return render(
        request,
        "shifts/swap_new.html",
        {
            "booking": booking,
            "candidates": candidates,
            "theirs": theirs,
            "error": error,
            "form": request.POST,
            "swaps_need_approval": shift_settings(team).swaps_need_approval,
        },
        status=400 if error else 200,
    )


@login_required
@require_POST
def swap_answer(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    done = {
        "accept": "accepted",
        "decline": "declined",
        "cancel": "withdrawn",
        "approve": "approved",
        "refuse": "refused",
    }
    if action not in done:
        raise Http404("No such action")
    user = request.user
    assert isinstance(user, User)
    swaps = SwapRequest.objects.select_related("booking__zone__team")
    if action in ("approve", "refuse"):
        # A coordinator's decision: any swap of a team whose desk they work (403 below
        # when they do not coordinate it).
        swap = get_object_or_404(swaps, pk=pk, booking__zone__team__in=teams_for_desk_user(user))
    else:
        swap = get_object_or_404(swaps, Q(asked=user) | Q(offered_by=user), pk=pk)
    try:
        if action == "cancel":
            swap_cancel(swap=swap, by=user)
        elif action in ("approve", "refuse"):
            swap_approve(swap=swap, by=user, approve=action == "approve")
        else:
            swap_decide(swap=swap, by=user, accept=action == "accept")
    except ShiftForbidden as error:
        if action in ("approve", "refuse"):
            raise PermissionDenied(error.message) from None
        messages.error(request, error.message)
    except ShiftError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Swap request {done[action]}.")
    return redirect(back_to_day(swap.booking.zone.team, swap.booking.day, anchor=f"swap-{swap.pk}"))


def _period(request: HttpRequest, team: Team) -> tuple[date, date, list[str]]:
    today = timezone.now().astimezone(ZoneInfo(team.time_zone)).date()
    defaults = {"from": today.replace(month=1, day=1), "to": today}
    out, errors = {}, []
    for name, default in defaults.items():
        raw = request.GET.get(name, "")
        try:
            out[name] = date.fromisoformat(raw) if raw else default
        except ValueError:
            errors.append(f"“{raw}” is not a date for “{name}” (YYYY-MM-DD).")
            out[name] = default
    if out["from"] > out["to"]:
        errors.append("“from” is after “to”.")
        out["from"] = out["to"]
    return out["from"], out["to"], errors


@login_required
def credits(request: HttpRequest) -> HttpResponse:
    team = team_of_request(request)
    if not is_coordinator(team, request.user):
        # The styled 403 page (templates/403.html) says why, with the way back.
        raise PermissionDenied("Credits are for the team's coordinators.")
    first, last, errors = _period(request, team)
    rows = credit_totals(team, first, last, timezone.now())
    if request.GET.get("format") == "csv" and not errors:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"{team.slug}-credits-{first:%Y%m%d}-{last:%Y%m%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        out = csv.writer(response)
        out.writerow(["username", "name", "first_level_slots", "trainee_slots", "credit_percent"])
        for row in rows:
            out.writerow(
                [
                    row.person.username,
                    row.person.get_full_name(),
                    row.first_level,
                    row.trainee,
                    row.credit,
                ]
            )
        return response
    for error in errors:
        messages.error(request, error)
    return render(
        request,
        "shifts/credits.html",
        {
            "team": team,
            "rows": rows,
            "first": first,
            "last": last,
            "total": sum(r.credit for r in rows),
            "weights": settings.SHIFT_CREDIT_WEIGHTS,
            "csv_query": urlencode({"team": team.slug, "from": first, "to": last, "format": "csv"}),
        },
        status=400 if errors else 200,
    )


def feed(request: HttpRequest, token: str) -> HttpResponse:
    """A private iCal feed: whoever has the URL reads it, so the token is the secret."""
    found = CalendarFeed.objects.filter(token=token).select_related("person", "zone__team").first()
    if found is None:
        raise Http404("No such feed")
    now = timezone.now()
    if found.person is not None:
        person = found.person
        title = f"Shifts of {display_name(person)}"
        bookings = bookings_for_feed(person=person, around=now.date())
    else:
        assert found.zone is not None
        title = f"{found.zone.team.name} {found.zone.code} shifts"
        bookings = bookings_for_feed(zone=found.zone, around=now.date())
    body = feed_calendar(
        title, bookings, host=request.get_host(), stamp=now, per_person=found.person is not None
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="shifts.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_POST
def feed_renew(request: HttpRequest) -> HttpResponse:
    team = team_of_request(request)
    user = request.user
    assert isinstance(user, User)
    calendar_feed_renew(feed=calendar_feed_for(person=user))
    messages.success(request, "Your feed has a new address; the old one no longer works.")
    return redirect(f"{reverse('shift-calendar')}?team={team.slug}#feeds")


def on_shift_now(request: HttpRequest) -> HttpResponse:
    """Public: who is on shift now in every team. Names and zones only."""
    now = timezone.now()
    boards = []
    for team in Team.objects.order_by("name"):
        duty = on_duty(team, now)
        tz = ZoneInfo(team.time_zone)
        upcoming = next_shift_start(team, now) if duty.slot is None else None
        boards.append({"team": team, "duty": duty, "tz": tz, "next": upcoming})
    return render(request, "shifts/on_shift.html", {"boards": boards, "now": now})
