"""What every app's REST API shares: the team of a request, validated input, pages.

Errors follow one pattern across /api/v1/: malformed input is a 400 with DRF's
``{"<field>": ["message", ...]}``; a team the caller does not work in is a 404, as if it did
not exist; a service's refusal (``common.errors.ApplicationError``) is its status, 400 or 403,
with ``{"detail": ..., "field": ..., "code": ...}`` (``exception_handler``, REST_FRAMEWORK's
EXCEPTION_HANDLER).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC
from functools import cache
from typing import Any, TypeVar

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from common import ratelimit
from common.errors import ApplicationError
from common.net import client_ip, client_network
from people.models import Team
from people.selectors import teams_for_desk_user


class UTCDateTimeField(serializers.DateTimeField):
    """An instant, rendered in UTC ("…Z"), read-only."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=UTC, read_only=True, **kwargs)


class ApiThrottle(BaseThrottle):
    """Every API view's throttle (REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES): per signed-in
    person, else per client network; counted by common.ratelimit. The rate is the first of
    DEFAULT_THROTTLE_RATES' ``<scope>_anonymous`` (anonymous callers only), ``<scope>``,
    ``api_anonymous`` (anonymous only), ``api``. Past it: 429 with Retry-After."""

    scope = "api"

    def __init__(self) -> None:
        self.retry_after_s: int | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is not None and user.is_authenticated:
            key, names = f"user:{user.pk}", [self.scope, "api"]
        else:
            key = client_network(client_ip(request))
            names = [f"{self.scope}_anonymous", self.scope, "api_anonymous", "api"]
        rates = api_settings.DEFAULT_THROTTLE_RATES
        rate = ratelimit.Rate.parse(next(rates[n] for n in names if rates.get(n)))
        try:
            ratelimit.take(ratelimit.Hit(f"api:{self.scope}", key, rate))
        except ratelimit.Limited as over:
            self.retry_after_s = over.retry_after_s()
            return False
        return True

    def wait(self) -> float | None:
        return self.retry_after_s


def exception_handler(error: Exception, context: dict[str, Any]) -> Response | None:
    """Every API's answer to an exception: a service's refusal says what is wrong and which
    input is to blame; anything else as DRF answers it."""
    if isinstance(error, ApplicationError):
        set_rollback()
        body = {"detail": error.message, "field": error.field, "code": error.code}
        return Response(body, status=error.status)
    return drf_exception_handler(error, context)


def request_team(request: Request) -> Team:
    """The team of ``?team=<slug>``, among those the caller works in; someone working in one
    team only may leave it out."""
    teams = teams_for_desk_user(request.user)
    slug = request.query_params.get("team")
    if slug:
        team = teams.filter(slug=slug).first()
        if team is None:
            raise NotFound("No such team.")
        return team
    mine = list(teams[:2])
    if not mine:
        raise NotFound("You work in no team.")
    if len(mine) > 1:
        raise ValidationError({"team": ["You work in several teams: say which, ?team=<slug>."]})
    return mine[0]


def valid(serializer: Any) -> dict[str, Any]:
    """The serializer's validated data, or a 400 naming each bad field."""
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def page(
    request: Request,
    queryset: QuerySet,
    serializer_class: Any,
    prepare: Callable[[Sequence[Any]], Sequence[Any]] | None = None,
) -> Response:
    """One page of the queryset; ``prepare`` adds what the page's rows need (one query for
    the page, not one per row)."""
    paginator = PageNumberPagination()
    rows = paginator.paginate_queryset(queryset, request) or []
    if prepare is not None:
        rows = list(prepare(rows))
    return paginator.get_paginated_response(serializer_class(rows, many=True).data)


# --- pieces of the OpenAPI schema the three APIs share (drf-spectacular) ---------------------


V = TypeVar("V", bound=Callable[..., Any])  # a view function


@cache
def paginated(serializer: type[serializers.Serializer]) -> serializers.Serializer:
    """A page of ``serializer``'s rows, for the schema (one component per shape)."""
    return inline_serializer(
        f"Paginated{serializer.__name__.removesuffix('Serializer')}List",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer(many=True),
        },
    )


PAGE = OpenApiParameter("page", OpenApiTypes.INT, OpenApiParameter.QUERY)
TEAM = OpenApiParameter(
    "team", OpenApiTypes.STR, description="A team's slug; needed when working in several teams."
)
# DRF's own error bodies.
DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
INVALID = OpenApiResponse(
    {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    "Malformed input: each bad field with its messages.",
)
NOT_FOUND = OpenApiResponse(DETAIL, "Not one of the caller's teams, or nothing by that id in it.")
NOT_SIGNED_IN = OpenApiResponse(DETAIL, "Not signed in.")
NOT_COORDINATOR = OpenApiResponse(DETAIL, "Not signed in, or not a coordinator of the team.")


# A service's refusal as exception_handler renders it: what is wrong and, when one input is
# to blame, which. (A comment, not a docstring: the "Refusal" component has no description.)
class RefusalSerializer(serializers.Serializer):
    detail = serializers.CharField()
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()


def refusal(why: str = "Refused (`field` names the input, if one)") -> OpenApiResponse:
    """Every API's 400 for a service's refusal (``RefusalSerializer``), ``why`` in the words
    of the app that refuses."""
    return OpenApiResponse(
        RefusalSerializer, f"{why}; malformed input is a 400 naming each bad field."
    )


def team_operation(
    method: str,
    operation_id: str,
    answer: Any,
    *,
    status: int | None = None,
    paged: bool = False,
    query: Sequence[Any] = (),
    given: Any = None,
    refused: OpenApiResponse | None = None,
    forbidden: OpenApiResponse = NOT_SIGNED_IN,
    summary: str | None = None,
    description: str | None = None,
) -> Callable[[V], V]:
    """The schema of one method of a view of the caller's team (``?team=``), tagged with the
    app that starts ``operation_id``: ``answer`` at ``status`` (a page of them if ``paged``;
    default 201 for a POST, 204 for a DELETE, else 200), read from the request body ``given``
    and the ``query`` serializers or parameters; 400 is ``refused``, else (with a ``query``)
    malformed input; 403 ``forbidden``; 404 another team's."""
    status = status or {"POST": 201, "DELETE": 204}.get(method, 200)
    responses = {status: paginated(answer) if paged else answer}
    if refused or query:
        responses[400] = refused or INVALID
    return extend_schema(
        methods=[method],
        tags=[operation_id.split("_")[0]],
        operation_id=operation_id,
        parameters=[TEAM, *query, *([PAGE] if paged else [])],
        request=given,
        responses=responses | {403: forbidden, 404: NOT_FOUND},
        summary=summary,
        description=description,
    )


def editable_schema(
    *,
    operation: str,
    thing: str,
    output: type[serializers.Serializer],
    given: type[serializers.Serializer],
    refused: OpenApiResponse,
) -> Callable[[V], V]:
    """The schema of a GET/PUT/PATCH view of one row that coordinators change: read it,
    change it, change some of it (``operation``: the operation ids' stem, e.g.
    "shifts_zones"; ``given``: the input serializer)."""

    def decorate(view: V) -> V:
        changes = [
            (
                "PATCH",
                "partial_update",
                f"Change some of a {thing}'s values",
                "; the values left out stay",
            ),
            ("PUT", "update", f"Change a {thing}", ""),
        ]
        for method, verb, summary, more in changes:
            view = team_operation(
                method,
                f"{operation}_{verb}",
                output,
                given=given,
                refused=refused,
                forbidden=NOT_COORDINATOR,
                summary=summary,
                description=f"Coordinators only{more}.",
            )(view)
        return team_operation("GET", f"{operation}_retrieve", output)(view)

    return decorate
