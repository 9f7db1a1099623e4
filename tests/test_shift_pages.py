"""The shift pages: month calendar, book/release/swap actions, credits and CSV, iCal feeds,
the public "On shift now" page."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from icalendar import Calendar

from people.models import Role
from shifts.models import Booking, CalendarFeed, SwapRequest, SwapState
from tests.factories import MembershipFactory, TeamFactory, shift_team

GENEVA = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 11, 16, 9, 0, tzinfo=GENEVA)  # Monday
pytestmark = [pytest.mark.django_db, pytest.mark.frozen_at(NOW)]
WED = date(2026, 11, 18)


@pytest.fixture
def team():
    team = shift_team(
        {
            "elena": Role.COORDINATOR,
            "anna": Role.SHIFTER,
            "pierre": Role.SHIFTER,
            "tomas": Role.TRAINEE,
        },
        last_name="Doe",
    )
    return team


def signed_in(client, user):
    client.force_login(user)
    return client


def test_the_calendar_needs_a_sign_in(client, team):
    response = client.get(reverse("shift-calendar"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_month_shows_uncovered_slots_in_red_and_bookings_with_their_credit(client, team):
    Booking.objects.create(zone=team.eu, day=WED, person=team.people["anna"], role="first_level")
    Booking.objects.create(zone=team.eu, day=WED, person=team.people["tomas"], role="trainee")
    page = signed_in(client, team.people["elena"]).get(
        reverse("shift-calendar"), {"month": "2026-11"}
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-zone="EU" data-day="2026-11-18"' in html
    cell = html.split('data-zone="EU" data-day="2026-11-18"')[1].split("</td>")[0]
    assert "Anna Doe" in cell
    assert "Tomas Doe" in cell
    assert "150%" in cell
    red = html.split('data-zone="EU" data-day="2026-11-19"')[0].rsplit("<td", 1)[1]
    assert "uncovered" in red
    assert page.context["grid"][0].uncovered == 20  # 21 weekdays in November, one booked


def test_the_month_page_costs_the_same_queries_whatever_the_bookings(
    client, team, django_assert_max_num_queries
):
    client = signed_in(client, team.people["elena"])
    client.get(reverse("shift-calendar"), {"month": "2026-11"})  # make the feed tokens
    rows = [
        Booking(zone=zone, day=date(2026, 11, 1) + timedelta(days=n), person=p, role="first_level")
        for n in range(30)
        for zone in (team.eu, team.na)
        for p in (team.people["anna"], team.people["pierre"])
    ]
    with django_assert_max_num_queries(16):
        client.get(reverse("shift-calendar"), {"month": "2026-11"})
    Booking.objects.bulk_create(rows)
    with django_assert_max_num_queries(16):
        page = client.get(reverse("shift-calendar"), {"month": "2026-11"})
    assert page.content.decode().count("Pierre Doe") >= 40


def test_a_bad_month_says_so_and_shows_the_current_month(client, team):
    page = signed_in(client, team.people["anna"]).get(reverse("shift-calendar"), {"month": "13-x"})
    assert page.status_code == 200
    assert "is not a month" in page.content.decode()
    assert page.context["month"] == date(2026, 11, 1)


def test_another_teams_calendar_is_not_found(client, team):
    outsider = MembershipFactory(team=TeamFactory(slug="biomed")).user
    page = signed_in(client, outsider).get(reverse("shift-calendar"), {"team": "dast"})
    assert page.status_code == 404


def test_a_shifter_books_and_releases_a_slot_from_the_calendar(client, team):
    client = signed_in(client, team.people["anna"])
    data = {"team": "dast", "zone": "EU", "day": "2026-11-25", "role": "first_level"}
    response = client.post(reverse("shift-book"), data, follow=True)
    assert "You are booked on EU, Wednesday 25 November" in response.content.decode()
    booking = Booking.objects.get(person=team.people["anna"])
    response = client.post(reverse("shift-release", args=[booking.pk]), follow=True)
    assert "Removed" in response.content.decode()
    assert not Booking.objects.exists()


def test_a_refused_booking_shows_the_reason_and_writes_nothing(client, team):
    client = signed_in(client, team.people["anna"])
    data = {"team": "dast", "zone": "EU", "day": "2026-11-21", "role": "first_level"}
    response = client.post(reverse("shift-book"), data, follow=True)
    assert "EU has no shift on Saturday 21 November 2026." in response.content.decode()
    response = client.post(reverse("shift-book"), {**data, "day": "21/11"}, follow=True)
    assert "The day must be a date" in response.content.decode()
    assert not Booking.objects.exists()


def test_a_coordinator_assigns_with_the_picker_and_a_shifter_cannot(client, team):
    pierre = team.people["pierre"]
    data = {"team": "dast", "zone": "NA", "day": "2026-11-19", "person": f"{pierre.pk}:first_level"}
    response = signed_in(client, team.people["anna"]).post(reverse("shift-book"), data, follow=True)
    assert "Only a coordinator can book someone else." in response.content.decode()
    assert not Booking.objects.exists()
    signed_in(client, team.people["elena"]).post(reverse("shift-book"), data)
    assert Booking.objects.get().person == pierre


def test_the_booking_form_needs_csrf(team):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(team.people["anna"])
    data = {"team": "dast", "zone": "EU", "day": "2026-11-25", "role": "first_level"}
    assert strict.post(reverse("shift-book"), data).status_code == 403
    assert not Booking.objects.exists()


def test_a_swap_is_asked_on_its_page_and_accepted_from_the_calendar(client, team, enqueued):
    mine = Booking.objects.create(
        zone=team.eu, day=WED, person=team.people["anna"], role="first_level"
    )
    client = signed_in(client, team.people["anna"])
    page = client.get(reverse("shift-swap", args=[mine.pk]))
    assert "Pierre Doe" in page.content.decode()
    assert "Tomas Doe" not in page.content.decode()  # a trainee cannot take a first-level slot
    response = client.post(reverse("shift-swap", args=[mine.pk]), {"asked": ""})
    assert response.status_code == 400
    assert "Choose who you ask." in response.content.decode()
    client.post(reverse("shift-swap", args=[mine.pk]), {"asked": team.people["pierre"].pk})
    swap = SwapRequest.objects.get()
    other = signed_in(client, team.people["pierre"])
    assert "Accept" in other.get(reverse("shift-calendar")).content.decode()
    other.post(reverse("shift-swap-answer", args=[swap.pk, "accept"]))
    mine.refresh_from_db()
    swap.refresh_from_db()
    assert (mine.person, swap.state) == (team.people["pierre"], SwapState.ACCEPTED)


def test_a_stranger_cannot_answer_someone_elses_swap(client, team):
    mine = Booking.objects.create(
        zone=team.eu, day=WED, person=team.people["anna"], role="first_level"
    )
    swap = SwapRequest.objects.create(
        booking=mine, offered_by=team.people["anna"], asked=team.people["pierre"]
    )
    client = signed_in(client, team.people["tomas"])
    assert client.post(reverse("shift-swap-answer", args=[swap.pk, "accept"])).status_code == 404
    assert client.get(reverse("shift-swap", args=[mine.pk])).status_code == 404
    swap.refresh_from_db()
    assert swap.state == SwapState.PENDING


def _past_month(team):
    for n, day in enumerate((date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 20))):
        Booking.objects.create(
            zone=team.eu, day=day, person=team.people["anna"], role="first_level"
        )
        if n == 1:
            Booking.objects.create(
                zone=team.eu, day=day, person=team.people["tomas"], role="trainee"
            )
    Booking.objects.create(zone=team.na, day=WED, person=team.people["pierre"], role="first_level")


def test_credits_show_past_slots_per_person_for_coordinators_only(client, team):
    _past_month(team)
    assert signed_in(client, team.people["anna"]).get(reverse("shift-credits")).status_code == 403
    page = signed_in(client, team.people["elena"]).get(
        reverse("shift-credits"), {"from": "2026-11-01", "to": "2026-11-30"}
    )
    rows = {r.person.username: r for r in page.context["rows"]}
    assert (rows["anna"].first_level, rows["anna"].credit) == (2, 200)  # the 20th is ahead
    assert (rows["tomas"].trainee, rows["tomas"].credit) == (1, 50)
    assert "pierre" not in rows


def test_credits_export_as_csv(client, team):
    _past_month(team)
    response = signed_in(client, team.people["elena"]).get(
        reverse("shift-credits"), {"from": "2026-11-01", "to": "2026-11-30", "format": "csv"}
    )
    assert response["Content-Type"].startswith("text/csv")
    assert "dast-credits-20261101-20261130.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["username"], r["credit_percent"]) for r in rows] == [
        ("anna", "200"),
        ("tomas", "50"),
    ]


def test_malformed_credit_dates_are_a_400_naming_the_field(client, team):
    response = signed_in(client, team.people["elena"]).get(
        reverse("shift-credits"), {"from": "November", "format": "csv"}
    )
    assert response.status_code == 400
    assert "is not a date for “from”" in response.content.decode()


def test_a_shifters_ical_feed_lists_their_slots_in_real_time(client, team):
    anna = team.people["anna"]
    Booking.objects.create(zone=team.eu, day=WED, person=anna, role="first_level")
    Booking.objects.create(zone=team.na, day=date(2027, 3, 29), person=anna, role="first_level")
    Booking.objects.create(zone=team.eu, day=WED, person=team.people["pierre"], role="first_level")
    signed_in(client, anna).get(reverse("shift-calendar"))
    token = CalendarFeed.objects.get(person=anna).token
    client.logout()
    response = client.get(reverse("shift-feed", args=[token]))
    assert response["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    assert str(cal["VERSION"]) == "2.0"
    assert "PRODID" in cal
    events = cal.walk("VEVENT")
    assert len(events) == 2
    for event in events:
        assert {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"} <= set(event)
    first, after_dst = (e.decoded("DTSTART") for e in events)
    assert first == datetime(2026, 11, 18, 7, 0, tzinfo=UTC)  # 08:00 CET
    assert after_dst == datetime(2027, 3, 29, 14, 0, tzinfo=UTC)  # 16:00 CEST
    assert events[1].decoded("DTEND") - after_dst == timedelta(hours=8)


def test_a_zone_feed_names_everyone_and_a_renewed_token_revokes_the_old_url(client, team):
    Booking.objects.create(zone=team.eu, day=WED, person=team.people["anna"], role="first_level")
    Booking.objects.create(zone=team.eu, day=WED, person=team.people["tomas"], role="trainee")
    client = signed_in(client, team.people["anna"])
    client.get(reverse("shift-calendar"))
    zone_token = CalendarFeed.objects.get(zone=team.eu).token
    cal = Calendar.from_ical(client.get(reverse("shift-feed", args=[zone_token])).content)
    assert sorted(str(e["SUMMARY"]) for e in cal.walk("VEVENT")) == [
        "EU: Anna Doe (first level)",
        "EU: Tomas Doe (trainee)",
    ]
    old = CalendarFeed.objects.get(person=team.people["anna"]).token
    client.post(reverse("shift-feed-renew"), {"team": "dast"})
    assert client.get(reverse("shift-feed", args=[old])).status_code == 404
    new = CalendarFeed.objects.get(person=team.people["anna"]).token
    assert new != old
    assert client.get(reverse("shift-feed", args=[new])).status_code == 200


def test_on_shift_now_is_public_and_shows_names_and_roles_but_no_addresses(client, team):
    Booking.objects.create(
        zone=team.eu, day=date(2026, 11, 16), person=team.people["anna"], role="first_level"
    )
    page = client.get(reverse("on-shift"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Anna Doe" in html
    assert "EU" in html
    assert "until 16:00" in html
    assert "anna@example.org" not in html
    assert "@" not in html.split("<main>")[1]


@pytest.mark.frozen_at(datetime(2026, 11, 21, 12, 0, tzinfo=GENEVA))  # a Saturday
def test_on_shift_now_outside_hours_names_the_next_shift(client, team):
    html = client.get(reverse("on-shift")).content.decode()
    assert "Outside shift hours" in html
    assert "Monday 23 November, 08:00" in html
