"""The shift calendar at a year of bookings: queries of the on-duty selector and of a routing
decision, and the server time of the month grid for two zones (the coordinator's page,
through Django's whole middleware stack)."""

from __future__ import annotations

import statistics
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

REQUESTS = 200


def _calendar(today: date):
    from django.contrib.auth.models import User

    from people.models import Membership, Role, Team
    from shifts.models import Booking, ShiftRole, Zone

    team, created = Team.objects.get_or_create(
        slug="bench-shifts",
        defaults={"name": "Bench shifts", "ticket_prefix": "BSH", "support_address": "b@x.org"},
    )
    people = {}
    for name, role in [(f"bsh-shifter{n}", Role.SHIFTER) for n in range(8)] + [
        ("bsh-trainee", Role.TRAINEE),
        ("bsh-coord", Role.COORDINATOR),
    ]:
        user, _ = User.objects.get_or_create(
            username=name, defaults={"first_name": name.title(), "email": f"{name}@x.org"}
        )
        Membership.objects.get_or_create(team=team, user=user, role=role)
        people[name] = user
    if created:
        eu = Zone.objects.create(team=team, code="EU", name="Europe", starts_at=clock(8))
        na = Zone.objects.create(team=team, code="NA", name="North America", starts_at=clock(16))
        rows = []
        for offset in range(-365, 61):
            day = today + timedelta(days=offset)
            if day.isoweekday() > 5:
                continue
            for n, zone in enumerate((eu, na)):
                for k in range(2):  # two first-level shifters a slot, a trainee on some
                    who = people[f"bsh-shifter{(offset + n * 3 + k * 5) % 8}"]
                    rows.append(Booking(zone=zone, day=day, person=who, role=ShiftRole.FIRST_LEVEL))
                if day.isoweekday() in (2, 4):
                    rows.append(
                        Booking(zone=zone, day=day, person=people["bsh-trainee"], role="trainee")
                    )
        Booking.objects.bulk_create(rows, ignore_conflicts=True)
    return team, people


def run(ctx) -> dict:
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from dispatch.routing import ticket_route
    from shifts.models import Booking
    from shifts.selectors import on_duty
    from tickets.models import Ticket
    from tickets.services import Sender, ticket_open

    tz = ZoneInfo("Europe/Zurich")
    today = timezone.now().astimezone(tz).date()
    team, people = _calendar(today)
    bookings = Booking.objects.filter(zone__team=team).count()
    # A Tuesday 10:00 within the booked year: two first-level shifters and a trainee on duty.
    tuesday = today - timedelta(days=(today.isoweekday() - 2) % 7 + 7)
    at = datetime.combine(tuesday, clock(10), tzinfo=tz)

    with CaptureQueriesContext(connection) as queries:
        duty = on_duty(team, at)
    assert len(duty.first_level) == 2, duty
    on_duty_queries = len(queries)

    with transaction.atomic():
        ticket = ticket_open(
            team=team,
            sender=Sender("someone@cern.ch", "Someone"),
            subject="bench",
            body_text="bench",
            announce=False,
        )
        with CaptureQueriesContext(connection) as queries:
            route = ticket_route(ticket=ticket, at=at)
        assert route.routed
        route_queries = len(queries)
        transaction.set_rollback(True)
    assert not Ticket.objects.filter(team=team).exists()

    client = Client()
    client.force_login(people["bsh-coord"])
    url = f"/shifts/?team={team.slug}&month={today:%Y-%m}"
    for _ in range(10):
        assert client.get(url).status_code == 200
    timings = []
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    grid_queries = len(queries)
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    p95 = statistics.quantiles(timings, n=100)[94]
    return {
        "on_duty_queries": {"value": on_duty_queries, "unit": "queries"},
        "route_queries": {"value": route_queries, "unit": "queries"},
        "shift_grid_p95_ms": {"value": round(p95, 2), "unit": "ms"},
        "shift_grid_p50_ms": {"value": round(statistics.median(timings), 2), "unit": "ms"},
        "shift_grid_queries": {"value": grid_queries, "unit": "queries"},
        "shift_bookings_loaded": {"value": bookings, "unit": "bookings"},
    }
