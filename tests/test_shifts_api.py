"""The shifts REST API: who is on duty (public), zones, closures, slots, bookings, credits."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from people.models import Role
from shifts.models import Booking, Closure, ShiftRole, Zone
from tests.factories import MembershipFactory, TeamFactory, UserFactory

API = "/api/v1/shifts"
GENEVA = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 11, 16, 9, 0, tzinfo=GENEVA)  # a Monday morning
pytestmark = [pytest.mark.django_db, pytest.mark.frozen_at(NOW)]
MON, TUE, WED, THU = (date(2026, 11, d) for d in (16, 17, 18, 19))


@pytest.fixture
def team():
    team = TeamFactory(slug="dast", ticket_prefix="DAST", name="ATLAS DAST")
    people = {}
    for username, full_name, role in (
        ("elena", "Elena Rossi", Role.COORDINATOR),
        ("anna", "Anna Keller", Role.SHIFTER),
        ("pierre", "Pierre Martin", Role.SHIFTER),
        ("tomas", "Tomas Novak", Role.TRAINEE),
        ("paul", "Paul Weber", Role.EXPERT),
    ):
        first, last = full_name.split()
        user = UserFactory(username=username, first_name=first, last_name=last)
        people[username] = MembershipFactory(team=team, user=user, role=role).user
    team.people = people
    team.eu = Zone.objects.create(
        team=team, code="EU", name="Europe", starts_at=time(8), coordinator=people["elena"]
    )
    team.na = Zone.objects.create(team=team, code="NA", name="North America", starts_at=time(16))
    Closure.objects.create(
        team=team, starts_on=date(2026, 12, 24), ends_on=date(2027, 1, 2), reason="CERN closure"
    )
    return team


@pytest.fixture
def other_team():
    biomed = TeamFactory(slug="biomed", ticket_prefix="BIO", name="Biomed")
    bob = UserFactory(username="bob", first_name="Bob", last_name="Smith")
    MembershipFactory(team=biomed, user=bob, role=Role.COORDINATOR)
    return biomed


def client_for(team, username: str) -> APIClient:
    client = APIClient()
    client.force_login(team.people[username])
    return client


def booked(team, username: str, day: date, zone=None, role=ShiftRole.FIRST_LEVEL) -> Booking:
    """A booking written directly, past or future, as the calendar already holds it."""
    return Booking.objects.create(
        zone=zone or team.eu, day=day, person=team.people[username], role=role
    )


def counts() -> tuple[int, int, int]:
    return Booking.objects.count(), Zone.objects.count(), Closure.objects.count()


# --- who is on duty -------------------------------------------------------------------------


@pytest.fixture
def wednesday(team):
    booked(team, "anna", WED)
    booked(team, "tomas", WED, role=ShiftRole.TRAINEE)
    booked(team, "pierre", WED, zone=team.na)
    return team


@pytest.mark.parametrize(
    ("local", "zone", "names"),
    [
        ("07:59:59", None, []),
        ("08:00:00", "EU", ["Anna Keller", "Tomas Novak"]),
        ("15:59:59", "EU", ["Anna Keller", "Tomas Novak"]),
        ("16:00:00", "NA", ["Pierre Martin"]),
        ("23:59:59", "NA", ["Pierre Martin"]),
    ],
)
def test_on_duty_at_the_edges_of_the_geneva_shifts(wednesday, local, zone, names):
    response = APIClient().get(f"{API}/on-duty/", {"team": "dast", "at": f"2026-11-18T{local}"})
    assert response.status_code == 200
    body = response.json()
    assert body["zone"] == zone
    assert [p["name"] for p in body["people"]] == names
    at = datetime.fromisoformat(f"2026-11-18T{local}").replace(tzinfo=GENEVA).astimezone(UTC)
    assert body["at"] == at.strftime("%Y-%m-%dT%H:%M:%SZ")  # a naive "at" is Geneva time
    assert (body["slot"] is None) == (zone is None)


def test_on_duty_renders_the_slot_in_utc_and_reads_an_unescaped_plus_offset(wednesday):
    # "+01:00" typed into a URL arrives as " 01:00".
    response = APIClient().get(f"{API}/on-duty/?team=dast&at=2026-11-18T08:00:00+01:00")
    assert response.status_code == 200
    assert response.json()["slot"] == {
        "day": "2026-11-18",
        "starts_at": "2026-11-18T07:00:00Z",
        "ends_at": "2026-11-18T15:00:00Z",
    }
    utc = APIClient().get(f"{API}/on-duty/", {"team": "dast", "at": "2026-11-18T06:59:59Z"})
    assert utc.json()["zone"] is None


def test_anonymous_on_duty_shows_names_and_roles_but_no_emails_or_usernames(wednesday):
    response = APIClient().get(f"{API}/on-duty/", {"team": "dast", "at": "2026-11-18T09:30"})
    assert response.status_code == 200
    assert response.json()["people"] == [
        {"name": "Anna Keller", "role": "first_level"},
        {"name": "Tomas Novak", "role": "trainee"},
    ]
    assert b"@" not in response.content
    assert b'"anna"' not in response.content
    assert b"tomas" not in response.content


def test_on_duty_defaults_to_now_and_the_only_team(wednesday):
    response = APIClient().get(f"{API}/on-duty/")
    assert response.status_code == 200
    body = response.json()
    assert (body["team"], body["zone"], body["people"]) == ("dast", "EU", [])
    assert body["at"] == "2026-11-16T08:00:00Z"


def test_a_malformed_at_is_a_400_naming_iso_8601(team):
    response = APIClient().get(f"{API}/on-duty/", {"team": "dast", "at": "next tuesday"})
    assert response.status_code == 400
    assert "expected ISO 8601" in response.json()["at"][0]


def test_on_duty_of_an_unknown_team_is_a_404(team):
    assert APIClient().get(f"{API}/on-duty/", {"team": "nope"}).status_code == 404


def test_the_public_on_duty_answer_is_rate_limited(team, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "shifts_on_duty": "3/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    statuses = [APIClient().get(f"{API}/on-duty/?team=dast").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


# --- who may read what ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["zones/", "closures/", "slots/", "bookings/", "credits/"])
def test_anonymous_callers_read_and_write_nothing_but_on_duty(team, path):
    before = counts()
    response = APIClient().get(f"{API}/{path}", {"team": "dast"})
    assert response.status_code in (401, 403)
    assert "Anna" not in response.content.decode()
    written = APIClient().post(f"{API}/{path}?team=dast", {"zone": team.eu.pk, "day": "2026-11-19"})
    assert written.status_code in (401, 403)
    assert counts() == before


@pytest.mark.parametrize("path", ["zones/", "closures/", "slots/", "bookings/", "credits/"])
def test_a_user_of_another_team_gets_a_404_for_dast(team, other_team, path):
    client = APIClient()
    client.force_login(other_team.memberships.get().user)
    assert client.get(f"{API}/{path}", {"team": "dast"}).status_code == 404
    assert client.get(f"{API}/{path}", {"team": "biomed"}).status_code == 200


def test_another_teams_booking_is_not_found_even_by_id(team, other_team):
    booking = booked(team, "anna", THU)
    client = APIClient()
    client.force_login(other_team.memberships.get().user)
    assert client.get(f"{API}/bookings/{booking.pk}/").status_code == 404
    assert client.delete(f"{API}/bookings/{booking.pk}/").status_code == 404
    assert Booking.objects.filter(pk=booking.pk).exists()


def test_someone_in_two_teams_must_say_which(team, other_team):
    MembershipFactory(team=other_team, user=team.people["anna"], role=Role.SHIFTER)
    response = client_for(team, "anna").get(f"{API}/zones/")
    assert response.status_code == 400
    assert "team" in response.json()
    assert client_for(team, "anna").get(f"{API}/zones/?team=dast").status_code == 200


# --- bookings -------------------------------------------------------------------------------


def book(client, team, day: date, role=ShiftRole.FIRST_LEVEL, person=None, zone=None):
    data = {"zone": (zone or team.eu).pk, "day": day.isoformat(), "role": role}
    if person is not None:
        data["person"] = team.people[person].pk
    return client.post(f"{API}/bookings/?team=dast", data, format="json")


def test_a_shifter_books_their_own_slot(team):
    response = book(client_for(team, "anna"), team, THU)
    assert response.status_code == 201
    assert response.json()["name"] == "Anna Keller"
    booking = Booking.objects.get()
    assert (booking.person.username, booking.zone.code, booking.day) == ("anna", "EU", THU)


def test_booking_a_closed_day_is_a_400_with_the_closure_reason(team):
    response = book(client_for(team, "anna"), team, date(2026, 12, 28))
    assert response.status_code == 400
    assert "CERN closure" in response.json()["detail"]
    assert response.json()["field"] == "day"
    assert not Booking.objects.exists()


def test_double_booking_the_same_person_is_a_400(team):
    booked(team, "anna", THU)
    response = book(client_for(team, "elena"), team, THU, person="anna")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Anna Keller is already booked on this slot.",
        "field": "person",
        "code": "refused",
    }
    assert Booking.objects.count() == 1


def test_a_trainee_alone_on_a_slot_is_a_400(team):
    response = book(client_for(team, "tomas"), team, THU, role=ShiftRole.TRAINEE)
    assert response.status_code == 400
    assert response.json()["field"] == "role"
    assert "trainee-only" in response.json()["detail"]
    assert not Booking.objects.exists()


def test_booking_someone_without_the_shifter_role_is_a_400(team):
    response = book(client_for(team, "elena"), team, THU, person="paul")
    assert response.status_code == 400
    assert response.json()["detail"] == "Paul Weber is not a first-level shifter of ATLAS DAST."
    assert not Booking.objects.exists()


def test_booking_a_slot_in_the_past_is_a_400(team):
    response = book(client_for(team, "anna"), team, MON)  # today's EU slot began at 08:00
    assert response.status_code == 400
    assert "in the past" in response.json()["detail"]
    assert not Booking.objects.exists()


def test_a_shifter_booking_someone_else_is_a_403(team):
    response = book(client_for(team, "anna"), team, THU, person="pierre")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only a coordinator can book someone else.",
        "field": None,
        "code": "permission_denied",
    }
    assert not Booking.objects.exists()


def test_a_coordinator_books_a_shifter_and_then_a_trainee_on_the_same_slot(team):
    client = client_for(team, "elena")
    assert book(client, team, THU, person="anna").status_code == 201
    assert book(client, team, THU, person="tomas", role=ShiftRole.TRAINEE).status_code == 201
    assert sorted(Booking.objects.values_list("person__username", flat=True)) == ["anna", "tomas"]


def test_malformed_booking_input_is_a_400_naming_the_field(team, other_team):
    client = client_for(team, "anna")
    before = counts()
    bad_day = client.post(
        f"{API}/bookings/", {"zone": team.eu.pk, "day": "18/11/2026", "role": "first_level"}
    )
    assert bad_day.status_code == 400
    assert list(bad_day.json()) == ["day"]
    biomed_zone = Zone.objects.create(team=other_team, code="EU", name="EU", starts_at=time(8))
    foreign = client.post(
        f"{API}/bookings/", {"zone": biomed_zone.pk, "day": "2026-11-19", "role": "first_level"}
    )
    assert foreign.status_code == 400
    assert list(foreign.json()) == ["zone"]
    bad_role = client.post(f"{API}/bookings/", {"zone": team.eu.pk, "day": "2026-11-19"})
    assert list(bad_role.json()) == ["role"]
    assert counts() == (before[0], before[1] + 1, before[2])


def test_releasing_your_own_slot_within_48_hours_is_a_403_but_a_coordinator_can(team):
    tomorrow = booked(team, "anna", TUE)  # starts in 23 hours
    refused = client_for(team, "anna").delete(f"{API}/bookings/{tomorrow.pk}/")
    assert refused.status_code == 403
    assert "48 hours" in refused.json()["detail"]
    assert Booking.objects.filter(pk=tomorrow.pk).exists()
    assert client_for(team, "elena").delete(f"{API}/bookings/{tomorrow.pk}/").status_code == 204
    assert not Booking.objects.filter(pk=tomorrow.pk).exists()


def test_releasing_your_own_slot_days_ahead_works_but_not_someone_elses(team):
    thursday = booked(team, "anna", THU)
    assert client_for(team, "pierre").delete(f"{API}/bookings/{thursday.pk}/").status_code == 403
    assert client_for(team, "anna").delete(f"{API}/bookings/{thursday.pk}/").status_code == 204
    assert not Booking.objects.exists()


def test_releasing_the_first_level_shifter_under_a_trainee_is_a_400(team):
    first = booked(team, "anna", THU)
    booked(team, "tomas", THU, role=ShiftRole.TRAINEE)
    response = client_for(team, "anna").delete(f"{API}/bookings/{first.pk}/")
    assert response.status_code == 400
    assert "trainee alone" in response.json()["detail"]
    assert Booking.objects.count() == 2


def test_the_booking_list_filters_by_person_zone_and_days(team):
    booked(team, "anna", TUE)
    booked(team, "anna", THU, zone=team.na)
    booked(team, "pierre", THU)
    client = client_for(team, "tomas")

    def listed(**query):
        response = client.get(f"{API}/bookings/", query)
        assert response.status_code == 200
        return [(b["name"], b["zone_code"], b["day"]) for b in response.json()["results"]]

    assert listed(person=team.people["anna"].pk) == [
        ("Anna Keller", "EU", "2026-11-17"),
        ("Anna Keller", "NA", "2026-11-19"),
    ]
    assert listed(zone=team.eu.pk, **{"from": "2026-11-18"}) == [
        ("Pierre Martin", "EU", "2026-11-19")
    ]
    assert listed(to="2026-11-17") == [("Anna Keller", "EU", "2026-11-17")]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"from": "2026-11-31"}, "from"), ({"to": "tomorrow"}, "to"), ({"person": "anna"}, "person")],
)
def test_a_malformed_booking_filter_is_a_400_naming_it(team, query, field):
    response = client_for(team, "anna").get(f"{API}/bookings/", query)
    assert response.status_code == 400
    assert list(response.json()) == [field]


# --- zones ----------------------------------------------------------------------------------


def test_members_read_the_zones_with_their_hours(team):
    response = client_for(team, "tomas").get(f"{API}/zones/")
    assert response.status_code == 200
    zones = response.json()["results"]
    assert [(z["code"], z["hours"], z["coordinator_name"]) for z in zones] == [
        ("EU", "08:00\u201316:00 Mon\u2013Fri", "Elena Rossi"),
        ("NA", "16:00\u201324:00 Mon\u2013Fri", None),
    ]


def test_a_coordinator_adds_a_zone_in_free_hours(team):
    response = client_for(team, "elena").post(
        f"{API}/zones/",
        {"code": "AS", "name": "Asia", "starts_at": "00:00", "weekdays": "12345"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["hours"] == "00:00\u201308:00 Mon\u2013Fri"
    assert Zone.objects.filter(team=team, code="AS").exists()


def test_overlapping_zone_hours_are_a_400_and_nothing_is_written(team):
    client = client_for(team, "elena")
    before = counts()
    created = client.post(
        f"{API}/zones/", {"code": "AS", "name": "Asia", "starts_at": "06:00"}, format="json"
    )
    assert created.status_code == 400
    assert created.json() == {
        "detail": "AS overlaps EU on Mondays: zones may not share hours.",
        "field": "starts_at",
        "code": "refused",
    }
    changed = client.patch(f"{API}/zones/{team.na.pk}/", {"starts_at": "15:00"}, format="json")
    assert changed.status_code == 400
    assert "overlaps EU" in changed.json()["detail"]
    assert counts() == before
    team.na.refresh_from_db()
    assert team.na.starts_at == time(16)


def test_a_coordinator_moves_a_zone_with_a_partial_update(team):
    response = client_for(team, "elena").patch(
        f"{API}/zones/{team.na.pk}/", {"duration_minutes": 240, "weekdays": "1234"}, format="json"
    )
    assert response.status_code == 200
    team.na.refresh_from_db()
    assert (team.na.code, team.na.duration_minutes, team.na.weekdays) == ("NA", 240, "1234")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"code": "eu1", "name": "x", "starts_at": "00:00"}, "code"),
        ({"code": "AS", "name": "x", "starts_at": "00:00", "weekdays": "mon"}, "weekdays"),
        ({"code": "AS", "name": "x", "starts_at": "25:00"}, "starts_at"),
        ({"code": "AS", "name": "x", "starts_at": "00:00", "coordinator": 999999}, "coordinator"),
    ],
)
def test_a_malformed_zone_is_a_400_naming_the_field(team, data, field):
    before = counts()
    response = client_for(team, "elena").post(f"{API}/zones/", data, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert counts() == before


def test_a_shifter_cannot_change_zones(team):
    client = client_for(team, "anna")
    created = client.post(
        f"{API}/zones/", {"code": "AS", "name": "Asia", "starts_at": "00:00"}, format="json"
    )
    changed = client.patch(f"{API}/zones/{team.eu.pk}/", {"name": "Mine"}, format="json")
    assert (created.status_code, changed.status_code) == (403, 403)
    assert Zone.objects.get(pk=team.eu.pk).name == "Europe"
    assert Zone.objects.count() == 2


# --- closures -------------------------------------------------------------------------------


def test_a_coordinator_closes_and_reopens_days(team):
    client = client_for(team, "elena")
    created = client.post(
        f"{API}/closures/",
        {"starts_on": "2027-04-02", "ends_on": "2027-04-05", "reason": "Easter"},
        format="json",
    )
    assert created.status_code == 201
    closure = Closure.objects.get(reason="Easter")
    assert closure.team == team
    assert client.delete(f"{API}/closures/{closure.pk}/").status_code == 204
    assert not Closure.objects.filter(reason="Easter").exists()


def test_a_closure_ending_before_it_starts_is_a_400(team):
    before = counts()
    response = client_for(team, "elena").post(
        f"{API}/closures/",
        {"starts_on": "2027-04-05", "ends_on": "2027-04-02", "reason": "Easter"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["ends_on"]
    assert counts() == before


def test_a_shifter_reads_closures_but_cannot_write_them(team):
    client = client_for(team, "anna")
    listed = client.get(f"{API}/closures/")
    assert [c["reason"] for c in listed.json()["results"]] == ["CERN closure"]
    closure = Closure.objects.get()
    assert client.delete(f"{API}/closures/{closure.pk}/").status_code == 403
    created = client.post(
        f"{API}/closures/",
        {"starts_on": "2027-04-02", "ends_on": "2027-04-05", "reason": "Easter"},
        format="json",
    )
    assert created.status_code == 403
    assert Closure.objects.count() == 1


# --- slots ----------------------------------------------------------------------------------


def test_slots_list_every_scheduled_slot_with_closures_bookings_and_coverage(team):
    booked(team, "anna", date(2026, 12, 21))
    booked(team, "tomas", date(2026, 12, 21), role=ShiftRole.TRAINEE)
    response = client_for(team, "tomas").get(
        f"{API}/slots/", {"from": "2026-12-21", "to": "2026-12-27"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"]) == ("2026-12-21", "2026-12-27")
    eu, na = body["zones"]
    assert (eu["code"], na["code"]) == ("EU", "NA")
    assert [s["day"] for s in eu["slots"]] == [f"2026-12-{d}" for d in range(21, 26)]
    monday = eu["slots"][0]
    assert (monday["starts_at"], monday["ends_at"]) == (
        "2026-12-21T07:00:00Z",
        "2026-12-21T15:00:00Z",
    )
    assert [(b["name"], b["role"]) for b in monday["bookings"]] == [
        ("Anna Keller", "first_level"),
        ("Tomas Novak", "trainee"),
    ]
    assert (monday["credit"], monday["uncovered"], monday["closed"]) == (150, False, False)
    assert [s["uncovered"] for s in na["slots"]] == [True, True, True, False, False]
    assert [s["closed_reason"] for s in na["slots"]][2:] == [None, "CERN closure", "CERN closure"]
    assert na["slots"][0]["ends_at"] == "2026-12-21T23:00:00Z"


def test_slots_across_a_month_end_come_in_day_order(team):
    response = client_for(team, "anna").get(
        f"{API}/slots/", {"from": "2026-11-27", "to": "2026-12-02"}
    )
    eu = response.json()["zones"][0]
    assert [s["day"] for s in eu["slots"]] == [
        "2026-11-27",
        "2026-11-30",
        "2026-12-01",
        "2026-12-02",
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-11-xx", "to": "2026-12-01"}, "from"),
        ({"from": "2026-11-01", "to": "1 Dec"}, "to"),
        ({"from": "2026-12-01", "to": "2026-11-01"}, "to"),
        ({"from": "2026-01-01", "to": "2026-12-31"}, "to"),  # more than 92 days
    ],
)
def test_a_malformed_or_too_long_slot_range_is_a_400_naming_the_field(team, query, field):
    response = client_for(team, "anna").get(f"{API}/slots/", query)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_slots_default_to_four_weeks_from_today(team):
    body = client_for(team, "anna").get(f"{API}/slots/").json()
    assert (body["from"], body["to"]) == ("2026-11-16", "2026-12-13")


# --- credits --------------------------------------------------------------------------------


def test_credits_count_only_past_slots_at_100_and_50(team):
    friday = date(2026, 11, 13)
    booked(team, "anna", friday)
    booked(team, "tomas", friday, role=ShiftRole.TRAINEE)
    booked(team, "pierre", date(2026, 11, 2), zone=team.na)
    booked(team, "pierre", MON)  # started an hour ago: not worked yet
    booked(team, "anna", THU)
    response = client_for(team, "elena").get(f"{API}/credits/")
    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"]) == ("2026-01-01", "2026-11-16")
    assert [tuple(p.values()) for p in body["people"]] == [
        ("anna", "Anna Keller", 1, 0, 100),
        ("pierre", "Pierre Martin", 1, 0, 100),
        ("tomas", "Tomas Novak", 0, 1, 50),
    ]
    assert list(body["people"][0]) == ["username", "name", "first_level", "trainee", "credit"]
    friday_only = client_for(team, "elena").get(
        f"{API}/credits/", {"from": "2026-11-13", "to": "2026-11-13"}
    )
    assert [(p["username"], p["credit"]) for p in friday_only.json()["people"]] == [
        ("anna", 100),
        ("tomas", 50),
    ]


def test_credits_are_for_coordinators_only(team):
    response = client_for(team, "anna").get(f"{API}/credits/")
    assert response.status_code == 403
    assert "coordinators" in response.json()["detail"]


@pytest.mark.parametrize(("query", "field"), [({"from": "2026"}, "from"), ({"to": "x"}, "to")])
def test_malformed_credit_dates_are_a_400_naming_the_field(team, query, field):
    response = client_for(team, "elena").get(f"{API}/credits/", query)
    assert response.status_code == 400
    assert list(response.json()) == [field]
