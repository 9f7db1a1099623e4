"""The reports page at DAST scale: one team-year of the imported 10-year archive (bench_queue's
team; imported when run alone), with the rollups rebuilt from the event log the import wrote.
Server time through Django's whole stack (the test client), queries per page, and the CSV of
a year of tickets. And the 2012 check: the page's mails per covered hour for 2012 against an
independent count (the messages of 2012 over the covered hours of 2012 from the zones' shift
hours), which must agree.
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

REQUESTS = 40


def _zones(team) -> None:  # type: ignore[no-untyped-def]
    """DAST's two zones, as load_demo and the tests set them up."""
    from shifts.models import Zone

    Zone.objects.get_or_create(
        team=team, code="EU", defaults={"name": "Europe", "starts_at": clock(8)}
    )
    Zone.objects.get_or_create(
        team=team, code="NA", defaults={"name": "North America", "starts_at": clock(16)}
    )


def _busiest_year(team) -> int:  # type: ignore[no-untyped-def]
    from reports.models import TicketFigures

    years = Counter(
        at.year
        for at in TicketFigures.objects.filter(team=team).values_list("opened_at", flat=True)
    )
    return years.most_common(1)[0][0]


def _cpu_check() -> float:
    """Milliseconds this host takes for a fixed piece of pure Python (median of 5), as
    bench_queue's: how busy the shared host was."""
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        sum(i * i for i in range(1_000_000))
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _independent_rate(team, year: int) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """The year's mails (every message the archive holds, by its own date, team time) and
    covered hours (each zone's shift on its weekdays, closed days left out), counted
    without the event log, the rollups or the reports' calendar code."""
    from shifts.models import Closure, Zone
    from tickets.models import Message

    tz = ZoneInfo(team.time_zone)
    first, after = date(year, 1, 1), date(year + 1, 1, 1)
    mails = Message.objects.filter(
        team=team,
        created_at__gte=datetime.combine(first, clock(), tzinfo=tz),
        created_at__lt=datetime.combine(after, clock(), tzinfo=tz),
    ).count()
    closed = list(Closure.objects.filter(team=team).values_list("starts_on", "ends_on"))
    hours = 0.0
    for zone in Zone.objects.filter(team=team):
        weekdays = {int(d) for d in zone.weekdays}
        day = first
        while day < after:
            if day.isoweekday() in weekdays and not any(a <= day <= b for a, b in closed):
                hours += zone.duration_minutes / 60
            day += timedelta(days=1)
    return mails, hours


def _shown_rate(client, team, year: int) -> float:  # type: ignore[no-untyped-def]
    """The mails per covered hour that /reports/ shows for the year (its headline)."""
    page = client.get(f"/reports/?team={team.slug}&period=year&from={year}-01-01")
    assert page.status_code == 200
    found = re.search(
        r"<dt>Mails per covered hour</dt><dd><strong>([0-9.]+)</strong>", page.content.decode()
    )
    assert found is not None, "no mails per covered hour on the page"
    return float(found.group(1))


def _timed(client, url: str, requests: int) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    from django.db import connection

    for _ in range(3):
        assert client.get(url).status_code == 200, url
    queries: list[str] = []

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(url)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return statistics.median(timings), statistics.quantiles(timings, n=100)[94], len(queries)


def run(ctx) -> dict:  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import User
    from django.test import Client

    from benchmarks.bench_queue import _archive_team, _settle
    from dast.process import freeze_loaded_objects
    from people.models import Membership, Role
    from reports.models import TicketFigures
    from reports.services import figures_rebuild
    from tickets.models import Ticket

    team = _archive_team(ctx)
    _zones(team)
    started = time.perf_counter()
    rebuilt = figures_rebuild(team=team)
    rebuild_s = time.perf_counter() - started
    _settle()
    year = _busiest_year(team)
    print(
        f"bench_reports: rebuilt {rebuilt} tickets in {rebuild_s:.1f} s; year {year}: "
        f"{TicketFigures.objects.filter(team=team, opened_at__year=year).count()} tickets "
        f"(of {Ticket.objects.filter(team=team).count()})",
        file=sys.stderr,
    )
    user, _ = User.objects.get_or_create(username=f"{team.slug}-coordinator")
    Membership.objects.get_or_create(team=team, user=user, role=Role.COORDINATOR)
    client = Client()
    client.force_login(user)
    freeze_loaded_objects()
    # The 2012 check: what the page shows against the independent count.
    shown = _shown_rate(client, team, 2012)
    mails, covered = _independent_rate(team, 2012)
    independent = round(mails / covered, 2)
    print(
        f"bench_reports: 2012 mails per covered hour: page {shown}, independent {independent} "
        f"({mails} messages / {covered:g} covered hours)",
        file=sys.stderr,
    )
    assert abs(shown - independent) < 0.006, (shown, independent)
    cpu_before = _cpu_check()
    page = f"/reports/?team={team.slug}&period=year&from={year}-01-01"
    p50, p95, queries = _timed(client, page, REQUESTS)
    csv_p50, _, _ = _timed(client, f"{page}&figure=tickets&format=csv", 10)
    cpu_after = _cpu_check()
    body = client.get(page).content.decode()
    mark = 'id="volume_zones"'
    print(
        f"bench_reports: page p50 {p50:.1f} ms p95 {p95:.1f} ms, {queries} queries; "
        f"CSV p50 {csv_p50:.1f} ms; volume_zones shown: {mark in body}",
        file=sys.stderr,
    )
    rate = "mails/h"
    return {
        "reports_2012_mails_per_covered_hour": {"value": shown, "unit": rate},
        "reports_2012_mails_per_covered_hour_independent": {"value": independent, "unit": rate},
        "reports_cpu_check_ms": {"value": round((cpu_before + cpu_after) / 2, 1), "unit": "ms"},
        "reports_p95_ms": {"value": round(p95, 2), "unit": "ms"},
        "reports_p50_ms": {"value": round(p50, 2), "unit": "ms"},
        "reports_queries": {"value": queries, "unit": "queries"},
        "reports_csv_year_ms": {"value": round(csv_p50, 2), "unit": "ms"},
        "reports_rebuild_s": {"value": round(rebuild_s, 1), "unit": "s"},
        "reports_year_tickets": {
            "value": TicketFigures.objects.filter(team=team, opened_at__year=year).count(),
            "unit": "tickets",
        },
    }
