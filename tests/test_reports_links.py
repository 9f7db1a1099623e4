"""The reports' numbers lead to the tickets behind them; a site is one site by any of its
names; an expert group's wait counts in its own working calendar. On the data set of
tests/test_reports.py (hand-computed figures there)."""

from __future__ import annotations

import re
from datetime import date, time
from html import unescape

import time_machine
from django.test import Client
from django.utils import timezone

from escalation.models import ExpertGroup, GroupKind
from grid.models import AliasKind, Site, SiteAlias
from people.models import WorkingCalendar
from reports.models import EscalationFigures
from reports.params import queue_link
from reports.period import period_of
from reports.report import figure_table, report_tables
from reports.selectors import Filters, report_data
from reports.tables import Table
from tests.test_reports import (  # noqa: F401 - the fixtures
    NOW,
    PERIOD,
    _by,
    _escalation,
    _rows,
    _ticket,
    at,
    coordinator,
    desk,
)
from tickets.events import actor_group, event_record, events_consume
from tickets.models.events import EventKind

SECTION = re.compile(r'<section class="figure" id="(\w+)".*?</section>', re.S)
LINKED = re.compile(r'<a href="(/tickets/\?[^"]+)">([^<]+)</a>')
# The viewer's clock is half a day from the team's: the queue's own days would be others.
FAR = "Pacific/Auckland"


def _linked_numbers(client: Client) -> dict[str, set[tuple[str, str]]]:
    """Figure -> (queue link, the number shown) for every linked number of the page."""
    with time_machine.travel(NOW, tick=False):
        page = client.get("/reports/", PERIOD)
    assert page.status_code == 200
    return {
        m.group(1): {(unescape(href), n) for href, n in LINKED.findall(m.group(0))}
        for m in SECTION.finditer(page.content.decode())
    }


def _queue_count(client: Client, href: str) -> int:
    with time_machine.travel(NOW, tick=False):
        response = client.get(href)
    assert response.status_code == 200
    form = response.context["filters"]
    assert not form.errors, (href, form.errors)
    return response.context["page"].paginator.count


def _tables() -> dict[str, Table]:
    """The page's figures for the coordinator, as the page builds them."""
    team = ExpertGroup.objects.get(name="US").team
    period, previous = period_of("custom", date(2026, 3, 16), date(2026, 3, 16), date(2026, 4, 5))
    with time_machine.travel(NOW, tick=False):
        data = report_data(team, period, previous, Filters(), {})
        return report_tables(data, queue_link, timezone.now(), coordinator=True)


def test_every_linked_number_opens_the_queue_with_as_many_tickets(desk, coordinator):  # noqa: F811
    coordinator.cookies["tz"] = FAR
    # Two openings outside every zone's hours: Monday 16 00:30 (Sunday 23:30 UTC, before the
    # period in the viewer's days too) and Saturday 21 10:00.
    with time_machine.travel(NOW, tick=False):
        _ticket(desk, at(16, 0, 30), "Night")
        _ticket(desk, at(21, 10), "Weekend")
        events_consume()
    tables = _tables()
    # (figure, link, number shown, the tickets it counts): a count of tickets counts itself;
    # a median or a rate, the tickets of its row's count column.
    expected = []
    for key, table in tables.items():
        units = {c.key: c.unit for c in table.columns}
        for n, row in enumerate(table.rows):
            for column, unit in units.items():
                if unit == "tickets" and row[column]:  # a 0 may lead nowhere
                    assert (n, column) in table.links, f"{key} row {n}: {column} is not linked"
        for (n, column), href in table.links.items():
            row = table.rows[n]
            if row[column] is not None:
                counted = row[table.counted_by.get(column, column)]
                expected.append((key, href, str(row[column]), counted))
    linked = _linked_numbers(coordinator)
    for figure in ("volume_zones", "volume", "first_response", "resolution", "backlog", "rates"):
        assert linked.get(figure), f"{figure}: no number links to the queue"
    # The page links what the tables link, and only that.
    assert {(k, h, shown) for k, h, shown, _ in expected} == {
        (k, h, shown) for k, pairs in linked.items() for h, shown in pairs
    }
    found = [
        (k, h, shown, counted, _queue_count(coordinator, h)) for k, h, shown, counted in expected
    ]
    wrong = [f for f in found if f[3] != f[4]]
    assert not wrong, "\n".join(map(str, wrong))
    assert len(found) >= 100
    # Not only empty queues: the numbers of the data set, some of them by hand.
    assert sum(f[4] for f in found if f[0] == "first_response") > 20
    shift = {f[1].rsplit("=", 1)[1]: f[4] for f in found if f[0] == "volume_zones"}
    assert (shift["EU"], shift["NA"], shift["none"]) == (4, 2, 2)  # T2, T4-6; T1, T3


def test_a_bad_span_or_a_shift_without_days_is_named_and_left_out(desk, coordinator):  # noqa: F811
    everyone = _queue_count(coordinator, "/tickets/?view=all")
    for query, field in (
        ("opened_during=2026-03-16/2026-04-05", "opened_during"),  # days, not instants
        ("opened_during=2026-04-05T00:00Z/2026-03-16T00:00Z", "opened_during"),
        ("opened_in_shift=EU", "opened_in_shift"),
        ("open_as=new", "open_as"),
        ("escalated_during=yesterday", "escalated_during"),
    ):
        with time_machine.travel(NOW, tick=False):
            response = coordinator.get(f"/tickets/?view=all&{query}")
        assert response.status_code == 200
        assert field in response.context["filters"].errors, query
        assert response.context["page"].paginator.count == everyone, query


def test_the_escalation_figures_link_to_the_tickets_escalated_to_that_group(desk, coordinator):  # noqa: F811
    us = ExpertGroup.objects.get(name="US")
    links = dict(_named_links("escalations", "tickets"))
    # The whole cloud counts its sites' escalations: BNL's ticket.
    assert f"escalated_to=cloud%3A{us.pk}" in links["US (whole cloud)"]
    assert _queue_count(coordinator, links["US (whole cloud)"]) == 1
    t6 = desk.tickets_by_name["t6"]
    with time_machine.travel(NOW, tick=False):
        page = coordinator.get(links["PanDA"])
    assert [t.pk for t in page.context["page"].object_list] == [t6.pk]
    # The queue filter alone, outside the period: nothing escalated then.
    during = "escalated_during=2026-03-15T23%3A00%3A00Z%2F2026-04-05T22%3A00%3A00Z"
    assert during in links["PanDA"]
    after = links["PanDA"].replace(
        during, "escalated_during=2026-03-20T00%3A00%3A00Z%2F2026-04-05T22%3A00%3A00Z"
    )
    assert _queue_count(coordinator, after) == 0
    assert _by(_rows(coordinator, "escalations"), name="PanDA")["tickets"] == 1


def _named_links(figure: str, column: str) -> list[tuple[str, str]]:
    """(row name, link) of the figure's rows whose ``column`` is linked."""
    team = ExpertGroup.objects.get(name="US").team
    period, previous = period_of("custom", date(2026, 3, 16), date(2026, 3, 16), date(2026, 4, 5))
    with time_machine.travel(NOW, tick=False):
        data = report_data(team, period, previous, Filters(), {})
        table = figure_table(figure, data, queue_link, timezone.now())
    return [
        (str(table.rows[n]["name"]), href)
        for (n, col), href in table.links.items()
        if col == column
    ]


def test_a_queue_alias_and_the_gocdb_name_are_incidents_of_one_site(desk, coordinator):  # noqa: F811
    site = Site.objects.create(
        name="BNL-ATLAS", gocdb_name="BNL-LCG2", cloud="US", updated_at=timezone.now()
    )
    for name, kind in (
        ("BNL-ATLAS", AliasKind.ATLAS),
        ("BNL-LCG2", AliasKind.GOCDB),
        ("BNL_PROD", AliasKind.QUEUE),
        ("ANALY_BNL_SHORT", AliasKind.QUEUE),
    ):
        SiteAlias.objects.create(name=name, site=site, kind=kind)
    with time_machine.travel(NOW, tick=False):
        queue = _ticket(desk, at(23, 14), "Jobs stuck", body="All jobs at ANALY_BNL_SHORT hang.")
        gocdb = _ticket(desk, at(24, 9), "Site unreachable", body="BNL-LCG2 is down since 8:00")
        _ticket(desk, at(24, 10), "Pilots", body="BNL_PROD has no pilots")
        events_consume()
    rows = _rows(coordinator, "incidents")
    bnl = _by(rows, name="BNL-ATLAS")
    assert bnl["named"] == 3
    assert not [r for r in rows if r["name"] in ("BNL-LCG2", "ANALY_BNL_SHORT", "BNL_PROD")]
    # A site the directory does not know still counts as written.
    assert _by(rows, name="BNL-OSG2_DATADISK")["named"] == 1
    href = next(h for name, h in _named_links("incidents", "named") if name == "BNL-ATLAS")
    with time_machine.travel(NOW, tick=False):
        listed = coordinator.get(href).context["page"].object_list
    assert {queue.pk, gocdb.pk} <= {t.pk for t in listed}
    assert len(listed) == 3


def test_an_expert_groups_wait_counts_in_its_own_working_calendar(desk, coordinator):  # noqa: F811
    # Rucio's experts work every day 08:00-16:00, the team Monday to Friday. Asked Saturday
    # 21 10:00, answered 14:00: 4 working hours in Rucio's calendar, none in the team's.
    every_day = WorkingCalendar.objects.create(
        team=desk, name="Every day", weekdays="1234567", starts_at=time(8), ends_at=time(16)
    )
    rucio = ExpertGroup.objects.create(
        team=desk, kind=GroupKind.EXPERT, name="Rucio", email="rucio@cern.ch", calendar=every_day
    )
    # One recorded since its events name the calendar, one before (its row says which).
    with time_machine.travel(NOW, tick=False):
        ticket = _ticket(desk, at(21, 9), "Rule stuck", body="The rule does not progress")
        for pk, key in ((201, True), (202, False)):
            asked = _escalation(ticket, pk, rucio, at(21, 10), calendar_key=key)
            event_record(
                ticket=ticket,
                kind=EventKind.ESCALATION_ANSWERED,
                actor=actor_group("Rucio"),
                data=asked,
                at=at(21, 14),
            )
        events_consume()
    waits = EscalationFigures.objects.filter(escalation_id__in=(201, 202))
    assert sorted(waits.values_list("wait_s", flat=True)) == [4 * 3600, 4 * 3600]
    rucio_row = _by(_rows(coordinator, "escalations"), name="Rucio")
    assert (rucio_row["count"], rucio_row["p50_hours"]) == (2, 4.0)
    # A group without its own calendar still counts in the team's: PanDA's 12 hours.
    assert _by(_rows(coordinator, "escalations"), name="PanDA")["p50_hours"] == 12.0
