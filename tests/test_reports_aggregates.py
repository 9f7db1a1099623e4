"""The figures' sums, counts and percentiles have two implementations (reports.aggregates):
SQL for PostgreSQL and Python over the rows for SQLite (``make run``). On the hand-computed
data set of test_reports both must give every figure the same numbers, for the period and
the one before, with and without filters."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.db import connection
from django.test import Client

import reports.aggregates as aggregates
from reports.calendars import team_calendar
from reports.period import period_of
from reports.report import FIGURES
from tests.test_reports import NOW, PERIOD, desk  # noqa: F401 - desk is a fixture

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="compares PostgreSQL's SQL with Python"
)


def _scope(team, **filters):
    period, previous = period_of("custom", date(2026, 3, 16), date(2026, 3, 16), date(2026, 4, 5))
    cal = team_calendar(team, previous.first, period.last)
    return aggregates.Scope(team, period, previous, cal, **filters)


@pytest.mark.parametrize(
    "filters", [{}, {"zone": "EU"}, {"category": "other"}, {"shifter": "anna"}]
)
def test_sql_and_python_give_the_same_aggregates(desk, filters):  # noqa: F811
    if "shifter" in filters:
        filters = {"shifter": desk.people[filters["shifter"]].pk}
    scope = _scope(desk, **filters)
    # The period's Sundays and the previous period's last, out of order as report_data has them.
    ends = [*aggregates.week_ends(scope.period), aggregates.week_ends(scope.previous)[-1]]
    with time_machine.travel(NOW, tick=False):
        sql = (
            aggregates._ticket_counts_sql(scope),
            aggregates._backlog_and_sites_sql(scope, ends),
            aggregates._mail_counts_sql(scope),
        )
        python = (
            aggregates._ticket_counts_python(scope),
            aggregates._backlog_and_sites_python(scope, ends),
            aggregates._mail_counts_python(scope),
        )
    assert sql[0] == python[0]
    assert sql[1] == python[1]  # the backlog at each week's end, the sites named
    assert sql[2] == python[2]
    if not filters:
        assert sql[0].timings["now", "first_response_s", "all", ""].count == 5
        assert sql[1][0][date(2026, 3, 29)]["total"] == 3


@pytest.mark.parametrize("extra", [{}, {"zone": "NA"}, {"period": "month", "from": "2026-03-01"}])
def test_every_figure_is_the_same_from_sql_and_from_python(desk, monkeypatch, extra):  # noqa: F811
    client = Client()
    client.force_login(desk.people["elena"])

    def rows() -> dict[str, object]:
        out = {}
        with time_machine.travel(NOW, tick=False):
            for figure in FIGURES:
                response = client.get(f"/api/v1/reports/{figure}/", {**PERIOD, **extra})
                assert response.status_code == 200, response.content
                out[figure] = response.json()["rows"]
            page = client.get("/reports/", {**PERIOD, **extra}).content.decode()
        out["headline"] = page[page.index('class="headline"') : page.index("</dl>")]
        return out

    from_sql = rows()
    monkeypatch.setattr(aggregates, "_postgres", lambda: False)
    assert rows() == from_sql
