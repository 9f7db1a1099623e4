"""The reports page (/reports/): figures for a team and period as charts and tables, each
downloadable as CSV. Coordinators see the team's; a shifter sees their own."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from people.names import display_name
from reports.charts import chart_geometry
from reports.params import NotYours, parse, queue_link, reach
from reports.period import KINDS
from reports.render import chart_svg, table_body
from reports.report import SECTIONS, report_headline, report_tables
from reports.selectors import report_data
from tickets.models import Category


@login_required
def report_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    try:
        where = reach(user, request.GET.get("team", ""))
    except NotYours:
        raise Http404("No such team") from None
    now = timezone.now()
    query = {k: str(v) for k, v in request.GET.items()}
    period, previous, filters, errors = parse(query, where, user, now)
    figure = request.GET.get("figure", "")
    if request.GET.get("format") == "csv":
        sections = SECTIONS.get(figure)
        if sections is None:
            raise Http404("No such figure")
        data = report_data(where.team, period, previous, filters, where.people, sections=sections)
        tables = report_tables(data, queue_link, now, coordinator=where.coordinator, only=figure)
        if figure not in tables:
            raise Http404("No such figure")
        response = HttpResponse(tables[figure].as_csv(), content_type="text/csv; charset=utf-8")
        name = f"{where.team.slug}-{figure}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    for error in errors:
        messages.error(request, error)
    data = report_data(where.team, period, previous, filters, where.people)
    tables = report_tables(data, queue_link, now, coordinator=where.coordinator)
    base = {"team": where.team.slug, "period": period.kind, **filters.query()}
    if period.kind == "custom" or request.GET.get("from"):
        base |= {"from": period.first.isoformat()}
    if period.kind == "custom":
        base |= {"to": period.last.isoformat()}
    return render(
        request,
        "reports/page.html",
        {
            "team": where.team,
            "teams": where.teams,
            "coordinator": where.coordinator,
            "period": period,
            "previous": previous,
            "filters": filters,
            "kinds": KINDS,
            "zones": data.zones,
            "categories": Category.choices,
            "groups": sorted(data.groups.values(), key=lambda g: (g.kind, g.name)),
            "people": sorted(where.people.values(), key=lambda p: display_name(p)),
            "tickets_csv": "?" + urlencode({**base, "figure": "tickets", "format": "csv"})
            if where.coordinator
            else "",
            "headline": report_headline(
                data, queue_link, now, coordinator=where.coordinator, tables=tables
            ),
            "figures": [
                (
                    t,
                    chart_svg(geo, t.key) if (geo := chart_geometry(t)) and t.rows else "",
                    "?" + urlencode({**base, "figure": t.key, "format": "csv"}),
                    table_body(t),
                )
                for t in tables.values()
            ],
        },
        status=400 if errors else 200,
    )
