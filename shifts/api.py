"""The shifts REST API under /api/v1/shifts/ (shapes in shifts/serializers.py).

Thin views: authorise, validate the input with a serializer, call one service or selector,
render. Errors:

- malformed input: 400 with DRF's ``{"<field>": ["message", ...]}``;
- a request the calendar refuses (``ShiftError``): 400 ``{"detail": ..., "field": ...,
  "code": "refused"}`` (people.api_common.exception_handler);
- one this person may not make (``ShiftForbidden``, a write by a non-coordinator): 403, the
  same with ``"code": "permission_denied"``.

Every endpoint takes ``?team=<slug>``, which someone working in one team only may leave out.
A team the caller does not work in answers 404, as if it did not exist. Only ``on-duty/``
is public, like the "On shift now" page.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.fields import get_error_detail
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from people.access import is_coordinator
from people.api_common import (
    DETAIL,
    INVALID,
    NOT_COORDINATOR,
    ApiThrottle,
    editable_schema,
    page,
    refusal,
    request_team,
    team_operation,
    valid,
)
from people.models import Team
from people.selectors import teams_for_desk_user
from shifts.models import Booking, Closure, Zone
from shifts.selectors import bookings_filtered, credit_totals, month_grid, on_duty
from shifts.serializers import (
    CREDITS,
    SLOT_GRID,
    BookingCreateSerializer,
    BookingQuery,
    BookingSerializer,
    CellSerializer,
    ClosureSerializer,
    CreditRowSerializer,
    OnDutyQuery,
    OnDutySerializer,
    PeriodQuery,
    ZoneInputSerializer,
    ZoneSerializer,
)
from shifts.services import (
    booking_create,
    booking_remove,
    closure_create,
    closure_delete,
    zone_save,
)

# The slot grid is computed, not stored: a bound keeps one request cheap (three months and
# a day covers any calendar quarter).
SLOTS_MAX_DAYS = 92
SLOTS_DEFAULT_DAYS = 28

# --- the schema (drf-spectacular) -----------------------------------------------------------

REFUSED = refusal("Refused by the calendar (`field` names the input)")
SLOTS_PERIOD = ("today", "four weeks from today")
CREDITS_PERIOD = ("1 January of this year", "today")


class OnDutyThrottle(ApiThrottle):
    """The public answer is cheap but open to anyone: per signed-in user, else per client
    address, at its own rate (DEFAULT_THROTTLE_RATES' shifts_on_duty). A wall screen polling
    once a minute stays far below it."""

    scope = "shifts_on_duty"


# --- helpers --------------------------------------------------------------------------------


def _public_team(request: Request) -> Team:
    """Any team by its slug: who is on shift is public. Without one, the caller's only team
    (or the desk's only team, for an anonymous caller)."""
    slug = request.query_params.get("team")
    if slug:
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            raise NotFound("No such team.")
        return team
    user = request.user
    teams = list((teams_for_desk_user(user) if user.is_authenticated else Team.objects.all())[:2])
    if len(teams) != 1:
        raise ValidationError({"team": ["Say which team, ?team=<slug>."]})
    return teams[0]


def _must_coordinate(request: Request, team: Team, what: str) -> None:
    if not is_coordinator(team, request.user):
        raise PermissionDenied(f"Only the coordinators of {team.name} can {what}.")


def _today(team: Team) -> date:
    return timezone.now().astimezone(ZoneInfo(team.time_zone)).date()


def _period(
    request: Request, defaults: tuple[date, date], max_days: int | None = None
) -> tuple[date, date]:
    period = valid(PeriodQuery(data=request.query_params, defaults=defaults, max_days=max_days))
    return period["from"], period["to"]


def _months(first: date, last: date) -> Iterator[tuple[int, int]]:
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


# --- who is on duty (public) ----------------------------------------------------------------


@extend_schema(
    tags=["shifts"],
    operation_id="shifts_on_duty",
    summary="Who is on shift",
    description='Public, like the "On shift now" page: the slot at `at` and the names and '
    "roles of the people booked on it (no slot: `zone` and `slot` are null). Any team's slug; "
    "left out, the caller's only team (or the desk's only team, for an anonymous caller).",
    parameters=[OnDutyQuery],
    responses={
        200: OnDutySerializer,
        400: INVALID,
        404: OpenApiResponse(DETAIL, "No such team."),
    },
)
@api_view(["GET"])
@permission_classes([AllowAny])
@throttle_classes([OnDutyThrottle])
def on_duty_at(request: Request) -> Response:
    """Who is on shift at ``?at=`` (ISO 8601, naive = the team's local time; default now)."""
    team = _public_team(request)
    query = valid(OnDutyQuery(data=request.query_params, context={"tz": ZoneInfo(team.time_zone)}))
    at = query.get("at") or timezone.now()
    duty = on_duty(team, at)
    return Response(OnDutySerializer({"team": team, "at": at, "duty": duty}).data)


# --- zones ----------------------------------------------------------------------------------


def _zone_saved(team: Team, data: ZoneInputSerializer, zone: Zone | None) -> Zone:
    try:
        return zone_save(team=team, spec=data.spec(zone), zone=zone)
    except DjangoValidationError as error:  # the model's own checks, should the input pass
        raise ValidationError(get_error_detail(error)) from None


@team_operation("GET", "shifts_zones_list", ZoneSerializer, paged=True, summary="The team's zones")
@team_operation(
    "POST",
    "shifts_zones_create",
    ZoneSerializer,
    given=ZoneInputSerializer,
    refused=REFUSED,
    forbidden=NOT_COORDINATOR,
    summary="Add a zone",
    description="Coordinators only. Its hours may not overlap another zone's.",
)
@api_view(["GET", "POST"])
def zone_list(request: Request) -> Response:
    team = request_team(request)
    if request.method == "GET":
        return page(
            request, Zone.objects.filter(team=team).select_related("coordinator"), ZoneSerializer
        )
    _must_coordinate(request, team, "add zones")
    data = ZoneInputSerializer(data=request.data, team=team)
    data.is_valid(raise_exception=True)
    zone = _zone_saved(team, data, None)
    return Response(ZoneSerializer(zone).data, status=status.HTTP_201_CREATED)


@editable_schema(
    operation="shifts_zones",
    thing="zone",
    output=ZoneSerializer,
    given=ZoneInputSerializer,
    refused=REFUSED,
)
@api_view(["GET", "PUT", "PATCH"])
def zone_detail(request: Request, pk: int) -> Response:
    team = request_team(request)
    zone = get_object_or_404(Zone.objects.select_related("coordinator"), pk=pk, team=team)
    if request.method == "GET":
        return Response(ZoneSerializer(zone).data)
    _must_coordinate(request, team, "change zones")
    data = ZoneInputSerializer(data=request.data, team=team, partial=request.method == "PATCH")
    data.is_valid(raise_exception=True)
    zone = _zone_saved(team, data, zone)
    return Response(ZoneSerializer(zone).data)


# --- closures -------------------------------------------------------------------------------


@team_operation(
    "GET",
    "shifts_closures_list",
    ClosureSerializer,
    paged=True,
    summary="Days the calendar is closed",
)
@team_operation(
    "POST",
    "shifts_closures_create",
    ClosureSerializer,
    given=ClosureSerializer,
    refused=REFUSED,
    forbidden=NOT_COORDINATOR,
    summary="Close the calendar",
    description="Coordinators only: no shifts from `starts_on` to `ends_on`, both included.",
)
@api_view(["GET", "POST"])
def closure_list(request: Request) -> Response:
    team = request_team(request)
    if request.method == "GET":
        return page(request, Closure.objects.filter(team=team), ClosureSerializer)
    _must_coordinate(request, team, "close the calendar")
    data = ClosureSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    fields = data.validated_data
    closure = closure_create(
        team=team,
        starts_on=fields["starts_on"],
        ends_on=fields["ends_on"],
        reason=fields["reason"],
    )
    return Response(ClosureSerializer(closure).data, status=status.HTTP_201_CREATED)


@team_operation("GET", "shifts_closures_retrieve", ClosureSerializer)
@team_operation(
    "DELETE",
    "shifts_closures_destroy",
    None,
    forbidden=NOT_COORDINATOR,
    summary="Reopen the calendar",
    description="Coordinators only.",
)
@api_view(["GET", "DELETE"])
def closure_detail(request: Request, pk: int) -> Response:
    team = request_team(request)
    closure = get_object_or_404(Closure, pk=pk, team=team)
    if request.method == "GET":
        return Response(ClosureSerializer(closure).data)
    _must_coordinate(request, team, "reopen the calendar")
    closure_delete(closure=closure)
    return Response(status=status.HTTP_204_NO_CONTENT)


# --- the slot grid --------------------------------------------------------------------------


@team_operation(
    "GET",
    "shifts_slots_list",
    SLOT_GRID,
    query=[PeriodQuery(said=SLOTS_PERIOD)],
    summary="The slot grid",
    description="Every scheduled slot per zone, closed ones flagged, with its bookings, "
    f"credit and coverage; at most {SLOTS_MAX_DAYS} days at a time.",
)
@api_view(["GET"])
def slot_list(request: Request) -> Response:
    """Every scheduled slot ``from``..``to`` per zone, closed ones flagged, with bookings."""
    team = request_team(request)
    today = _today(team)
    first, last = _period(
        request, (today, today + timedelta(days=SLOTS_DEFAULT_DAYS - 1)), SLOTS_MAX_DAYS
    )
    by_zone: dict[int, tuple[Zone, list[Any]]] = {}
    for year, month in _months(first, last):
        for zone_month in month_grid(team, year, month):
            _, cells = by_zone.setdefault(zone_month.zone.pk, (zone_month.zone, []))
            cells.extend(
                cell
                for week in zone_month.weeks
                for cell in week
                if cell is not None and cell.slot is not None and first <= cell.day <= last
            )
    zones = [
        {
            "id": zone.pk,
            "code": zone.code,
            "name": zone.name,
            "slots": CellSerializer(cells, many=True).data,
        }
        for zone, cells in by_zone.values()
    ]
    return Response({"team": team.slug, "from": first, "to": last, "zones": zones})


# --- bookings -------------------------------------------------------------------------------


@team_operation(
    "GET",
    "shifts_bookings_list",
    BookingSerializer,
    paged=True,
    query=[BookingQuery],
    summary="Bookings",
    description="Optionally of one person, on one zone, from one day to another.",
)
@team_operation(
    "POST",
    "shifts_bookings_create",
    BookingSerializer,
    given=BookingCreateSerializer,
    refused=REFUSED,
    forbidden=OpenApiResponse(DETAIL, "Not signed in, or not a coordinator booking someone else."),
    summary="Book a slot",
    description="`person` defaults to the caller; only a coordinator books someone else.",
)
@api_view(["GET", "POST"])
def booking_list(request: Request) -> Response:
    team = request_team(request)
    if request.method == "GET":
        query = valid(BookingQuery(data=request.query_params))
        bookings = bookings_filtered(
            team,
            first=query.get("from"),
            last=query.get("to"),
            person_id=query.get("person"),
            zone_id=query.get("zone"),
        )
        return page(request, bookings, BookingSerializer)
    data = valid(BookingCreateSerializer(data=request.data, team=team))
    booking = booking_create(
        zone=data["zone"],
        day=data["day"],
        person=data.get("person", request.user),
        role=data["role"],
        by=request.user,
    )
    return Response(BookingSerializer(booking).data, status=status.HTTP_201_CREATED)


@team_operation("GET", "shifts_bookings_retrieve", BookingSerializer)
@team_operation(
    "DELETE",
    "shifts_bookings_destroy",
    None,
    refused=REFUSED,
    forbidden=OpenApiResponse(
        DETAIL, "Not signed in, someone else's booking, or too close to its start."
    ),
    summary="Release a booking",
    description="A shifter releases their own booking until SHIFT_RELEASE_NOTICE_HOURS before "
    "the slot starts; later, and anyone else's, a coordinator.",
)
@api_view(["GET", "DELETE"])
def booking_detail(request: Request, pk: int) -> Response:
    team = request_team(request)
    booking = get_object_or_404(
        Booking.objects.select_related("zone__team", "person"), pk=pk, zone__team=team
    )
    if request.method == "GET":
        return Response(BookingSerializer(booking).data)
    booking_remove(booking=booking, by=request.user)
    return Response(status=status.HTTP_204_NO_CONTENT)


# --- credits --------------------------------------------------------------------------------


@team_operation(
    "GET",
    "shifts_credits_list",
    CREDITS,
    query=[PeriodQuery(said=CREDITS_PERIOD)],
    forbidden=NOT_COORDINATOR,
    summary="Credits",
    description="Coordinators only: slots worked and credit per person.",
)
@api_view(["GET"])
def credit_list(request: Request) -> Response:
    """Slots worked and credit per person ``from``..``to`` (default: this year so far)."""
    team = request_team(request)
    _must_coordinate(request, team, "read the credits")
    today = _today(team)
    first, last = _period(request, (today.replace(month=1, day=1), today))
    rows = credit_totals(team, first, last, timezone.now())
    return Response(
        {
            "team": team.slug,
            "from": first,
            "to": last,
            "people": CreditRowSerializer(rows, many=True).data,
        }
    )
