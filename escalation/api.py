"""The escalation REST API under /api/v1/escalation/ (shapes in escalation/serializers.py).

    groups/                 expert groups, clouds and sites (?kind=); coordinators write
    groups/<id>/            one; PATCH/PUT by coordinators
    sites/                  the clouds and sites only, each site with its cloud
    escalations/            list (?ticket= ?state= ?group=), create (shifters)
    escalations/<id>/       one, with its timers and the steps they ran
    escalations/<id>/cancel/   POST: stop waiting
    timers/                 read: armed and past timers (?ticket= ?state= ?kind=)
    timers/<id>/

Everyone working in the team (shifters, trainees, coordinators) reads; an escalation the
service refuses (a closed ticket, no note, already answered) is a 400
``{"detail": ..., "field": ..., "code": "refused"}`` (people.api_common.exception_handler).
Expert accounts do not use this API (they answer by mail).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from escalation.models import (
    Escalation,
    EscalationState,
    ExpertGroup,
    GroupKind,
    Timer,
    TimerKind,
    TimerRun,
    TimerState,
)
from escalation.selectors import GROUPS_CACHED
from escalation.serializers import (
    EscalationCreateSerializer,
    EscalationQuery,
    EscalationSerializer,
    GroupSerializer,
    TimerQuery,
    TimerSerializer,
)
from escalation.services import escalation_cancel, escalation_create
from people.access import is_coordinator
from people.api_common import (
    INVALID,
    NOT_COORDINATOR,
    editable_schema,
    page,
    refusal,
    request_team,
    team_operation,
    valid,
)
from people.models import Team
from people.teamcache import team_cache_forget
from tickets.access import ticket_authorise
from tickets.models import parse_reference

# --- the schema (drf-spectacular) -----------------------------------------------------------

TICKET = OpenApiParameter(
    "ticket", OpenApiTypes.STR, description="A ticket's reference, e.g. DAST-1234."
)
REFUSED = refusal(
    "Refused (a closed ticket, no note, already answered; `field` names the input, if one)"
)


def _choices(name: str, values: list[str], what: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, enum=values, description=what)


def _ticket_filter(queryset: QuerySet, reference: str | None) -> QuerySet:
    if not reference:
        return queryset
    parsed = parse_reference(reference)
    if parsed is None:
        return queryset.none()
    return queryset.filter(ticket__team__ticket_prefix=parsed[0], ticket__number=parsed[1])


# --- the directory --------------------------------------------------------------------------


def _groups(team: Team) -> QuerySet[ExpertGroup]:
    return ExpertGroup.objects.filter(team=team).select_related("cloud", "next_level")


@team_operation(
    "GET",
    "escalation_groups_list",
    GroupSerializer,
    paged=True,
    query=[_choices("kind", GroupKind.values, "Only groups of this kind.")],
    summary="Expert groups, clouds and sites",
)
@team_operation(
    "POST",
    "escalation_groups_create",
    GroupSerializer,
    given=GroupSerializer,
    refused=INVALID,
    forbidden=NOT_COORDINATOR,
    summary="Add a group, cloud or site",
    description="Coordinators only. `cloud` and `next_level` are ids of the team's groups.",
)
@api_view(["GET", "POST"])
def group_list(request: Request) -> Response:
    team = request_team(request)
    if request.method == "GET":
        groups = _groups(team)
        kind = request.query_params.get("kind")
        if kind:
            if kind not in GroupKind.values:
                return Response(
                    {"kind": [f"One of {', '.join(GroupKind.values)}."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            groups = groups.filter(kind=kind)
        return page(request, groups, GroupSerializer)
    if not is_coordinator(team, request.user):
        raise PermissionDenied(f"Only the coordinators of {team.name} can add groups.")
    data = GroupSerializer(data=request.data, team=team)
    data.is_valid(raise_exception=True)
    group = data.save()
    team_cache_forget(team.pk, GROUPS_CACHED)
    return Response(GroupSerializer(group, team=team).data, status=status.HTTP_201_CREATED)


@editable_schema(
    operation="escalation_groups",
    thing="group",
    output=GroupSerializer,
    given=GroupSerializer,
    refused=INVALID,
)
@api_view(["GET", "PUT", "PATCH"])
def group_detail(request: Request, pk: int) -> Response:
    team = request_team(request)
    group = get_object_or_404(_groups(team), pk=pk)
    if request.method == "GET":
        return Response(GroupSerializer(group, team=team).data)
    if not is_coordinator(team, request.user):
        raise PermissionDenied(f"Only the coordinators of {team.name} can change groups.")
    data = GroupSerializer(group, data=request.data, team=team, partial=request.method == "PATCH")
    data.is_valid(raise_exception=True)
    group = data.save()
    team_cache_forget(team.pk, GROUPS_CACHED)
    return Response(GroupSerializer(group, team=team).data)


@team_operation(
    "GET",
    "escalation_sites_list",
    GroupSerializer,
    paged=True,
    summary="Clouds and sites",
    description="Cloud and site support contacts, clouds first, each site after its cloud.",
)
@api_view(["GET"])
def site_list(request: Request) -> Response:
    """Cloud and site support contacts, clouds first, each site after its cloud."""
    team = request_team(request)
    sites = _groups(team).filter(kind__in=[GroupKind.CLOUD, GroupKind.SITE])
    return page(request, sites.order_by("kind", "cloud__name", "name"), GroupSerializer)


# --- escalations ----------------------------------------------------------------------------


def _escalations(team: Team) -> QuerySet[Escalation]:
    return Escalation.objects.filter(ticket__team=team).select_related(
        "ticket__team", "group", "external_ref", "created_by", "outbound"
    )


def _with_timers(escalations: QuerySet[Escalation]) -> QuerySet[Escalation]:
    runs = Prefetch("runs", queryset=TimerRun.objects.order_by("ran_at", "pk"))
    timers = Timer.objects.select_related("ticket__team").prefetch_related(runs).order_by("pk")
    return escalations.prefetch_related(Prefetch("timers", queryset=timers, to_attr="all_timers"))


@team_operation(
    "GET",
    "escalation_escalations_list",
    EscalationSerializer,
    paged=True,
    query=[
        TICKET,
        _choices("state", EscalationState.values, "Only escalations in this state."),
        OpenApiParameter("group", OpenApiTypes.INT, description="Only those to this group's id."),
    ],
    summary="Escalations",
    description="Newest first, each with its timers and the steps they ran.",
)
@team_operation(
    "POST",
    "escalation_escalations_create",
    EscalationSerializer,
    given=EscalationCreateSerializer,
    refused=REFUSED,
    summary="Escalate a ticket",
    description="To an expert group or site (`group`), or waiting on an external reference "
    "of the ticket (`external_ref`); the mail goes out and the timer starts.",
)
@api_view(["GET", "POST"])
def escalation_list(request: Request) -> Response:
    team = request_team(request)
    if request.method == "GET":
        query = valid(EscalationQuery(data=request.query_params))
        escalations = _ticket_filter(_escalations(team), query.get("ticket"))
        if query.get("state"):
            escalations = escalations.filter(state=query["state"])
        if query.get("group"):
            escalations = escalations.filter(group_id=query["group"])
        escalations = _with_timers(escalations.order_by("-created_at", "-pk"))
        return page(request, escalations, EscalationSerializer)
    data = valid(EscalationCreateSerializer(data=request.data, team=team))
    ticket_authorise(request.user, data["ticket"], "escalate")
    assert isinstance(request.user, User)
    esc = escalation_create(
        ticket=data["ticket"],
        by=request.user,
        note=data["note"],
        group=data.get("group"),
        external_ref=data.get("external_ref"),
    )
    esc = _with_timers(_escalations(team)).get(pk=esc.pk)
    return Response(EscalationSerializer(esc).data, status=status.HTTP_201_CREATED)


@team_operation(
    "GET",
    "escalation_escalations_retrieve",
    EscalationSerializer,
    summary="One escalation",
    description="With its timers and the steps they ran.",
)
@api_view(["GET"])
def escalation_detail(request: Request, pk: int) -> Response:
    team = request_team(request)
    esc = get_object_or_404(_with_timers(_escalations(team)), pk=pk)
    return Response(EscalationSerializer(esc).data)


@team_operation(
    "POST",
    "escalation_escalations_cancel",
    EscalationSerializer,
    status=200,
    refused=REFUSED,
    summary="Cancel an escalation",
    description="Stop waiting: its timers stop. An escalation answered or cancelled already is "
    "a 400.",
)
@api_view(["POST"])
def escalation_cancel_view(request: Request, pk: int) -> Response:
    team = request_team(request)
    esc = get_object_or_404(_escalations(team), pk=pk)
    ticket_authorise(request.user, esc.ticket, "escalation-cancel")
    assert isinstance(request.user, User)
    escalation_cancel(escalation=esc, by=request.user)
    return Response(EscalationSerializer(_with_timers(_escalations(team)).get(pk=pk)).data)


# --- timers ---------------------------------------------------------------------------------


def _timers(team: Team) -> QuerySet[Timer]:
    runs = Prefetch("runs", queryset=TimerRun.objects.order_by("ran_at", "pk"))
    return (
        Timer.objects.filter(ticket__team=team)
        .select_related("ticket__team")
        .prefetch_related(runs)
    )


@team_operation(
    "GET",
    "escalation_timers_list",
    TimerSerializer,
    paged=True,
    query=[
        TICKET,
        _choices("state", TimerState.values, "Only timers in this state."),
        _choices("kind", TimerKind.values, "Only timers of this kind."),
    ],
    summary="Timers",
    description="Armed and past timers, the soonest due first.",
)
@api_view(["GET"])
def timer_list(request: Request) -> Response:
    team = request_team(request)
    query = valid(TimerQuery(data=request.query_params))
    timers = _ticket_filter(_timers(team), query.get("ticket"))
    for name in ("state", "kind"):
        if query.get(name):
            timers = timers.filter(**{name: query[name]})
    return page(request, timers.order_by("due_at", "pk"), TimerSerializer)


@team_operation("GET", "escalation_timers_retrieve", TimerSerializer, summary="One timer")
@api_view(["GET"])
def timer_detail(request: Request, pk: int) -> Response:
    return Response(TimerSerializer(get_object_or_404(_timers(request_team(request)), pk=pk)).data)
