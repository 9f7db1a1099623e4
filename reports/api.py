"""The reports API: ``GET /api/v1/reports/<figure>/?team=&from=&to=&period=&zone=&category=
&group=&shifter=``, one figure's table (the same rows the page's table, chart and CSV show).
A team the caller does not work in is a 404; a figure a shifter may not see, 403."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from people.api_common import team_operation
from reports.params import NotYours, parse, queue_link, reach
from reports.period import KINDS
from reports.report import FIGURES, SECTIONS, report_tables
from reports.selectors import report_data


class ColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField()


class FigureSerializer(serializers.Serializer):
    figure = serializers.CharField()
    title = serializers.CharField()
    team = serializers.CharField()
    period = serializers.CharField()
    first = serializers.DateField(help_text="The period's first day (team time).")
    last = serializers.DateField(help_text="The period's last day, included.")
    columns = ColumnSerializer(many=True)
    rows = serializers.ListField(
        child=serializers.DictField(child=serializers.JSONField()),
        help_text="One object per row, keyed by the columns' keys.",
    )


def _query(name: str, description: str, enum: list[str] | None = None) -> OpenApiParameter:
    return OpenApiParameter(
        name, OpenApiTypes.STR, OpenApiParameter.QUERY, description=description, enum=enum
    )


@team_operation(
    "GET",
    "reports_figure_retrieve",
    FigureSerializer,
    summary="One figure of the team's reports",
    query=[
        OpenApiParameter(
            "figure",
            OpenApiTypes.STR,
            OpenApiParameter.PATH,
            enum=list(FIGURES),
            description="Which figure.",
        ),
        _query(
            "period", "4weeks (default), week, month, quarter, year or custom.", enum=list(KINDS)
        ),
        _query("from", "A day in the period (YYYY-MM-DD); with period=custom its first day."),
        _query("to", "With period=custom: its last day."),
        _query("zone", "A zone's code."),
        _query("category", "A ticket category."),
        _query("group", "An expert group's or cloud's id."),
        _query("shifter", "A person's id (coordinators only; shifters get their own)."),
    ],
)
@api_view(["GET"])
def figure_detail(request: Request, figure: str) -> Response:
    user = request.user
    assert isinstance(user, User)
    if figure not in FIGURES:
        raise NotFound("No such figure.")
    try:
        where = reach(user, request.query_params.get("team", ""))
    except NotYours:
        raise NotFound("No such team.") from None
    if not where.coordinator and not FIGURES[figure]:
        raise PermissionDenied("This figure is for the team's coordinators.")
    now = timezone.now()
    query = {k: str(v) for k, v in request.query_params.items()}
    period, previous, filters, errors = parse(query, where, user, now)
    if errors:
        raise ValidationError({"detail": errors})
    data = report_data(
        where.team, period, previous, filters, where.people, sections=SECTIONS[figure]
    )
    table = report_tables(data, queue_link, now, coordinator=where.coordinator, only=figure)[figure]
    body = table.as_json() | {
        "team": where.team.slug,
        "period": period.kind,
        "first": period.first,
        "last": period.last,
    }
    return Response(FigureSerializer(body).data)
