"""The team's calendars page: coordinators keep the working calendars and choose which one
the team and each group counts in; bad input is named on its field and nothing is saved."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from escalation.models import ExpertGroup
from people.models import Role, WorkingCalendar
from tests.factories import MembershipFactory, TeamFactory

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_at(datetime(2026, 11, 18, 9, tzinfo=UTC))]

GOOD = {
    "team": "dast",
    "name": "KEK",
    "weekdays": ["1", "2", "3", "4", "5", "6"],
    "starts_at": "09:00",
    "ends_at": "17:00",
    "time_zone": "Asia/Tokyo",
    "holidays": "2026-11-23\n2026-12-29..2027-01-03",
}


@pytest.fixture
def team():
    return TeamFactory(slug="dast", ticket_prefix="DAST", time_zone="Europe/Zurich")


@pytest.fixture
def coordinator(client, team):
    client.force_login(MembershipFactory(team=team, role=Role.COORDINATOR).user)
    return client


def test_a_coordinator_adds_a_calendar_and_gives_it_to_a_group_and_the_team(coordinator, team):
    panda = ExpertGroup.objects.create(team=team, name="PanDA/JEDI", email="panda@cern.ch")
    assert coordinator.post("/team/calendars/new/", GOOD).status_code == 302
    kek = WorkingCalendar.objects.get(team=team)
    assert (kek.weekdays, kek.starts_at, kek.ends_at) == ("123456", time(9), time(17))
    assert kek.label == "Mon\u2013Sat 09:00\u201317:00 Asia/Tokyo"
    response = coordinator.post(
        "/team/calendars/", {"team": "dast", "team_calendar": kek.pk, f"group-{panda.pk}": kek.pk}
    )
    assert response.status_code == 302
    team.refresh_from_db()
    panda.refresh_from_db()
    assert (team.calendar_id, panda.calendar_id) == (kek.pk, kek.pk)
    page = coordinator.get("/team/calendars/").content.decode()
    assert "KEK" in page
    assert """<strong>KEK</strong> <span class="muted">(the team's)</span>""" in page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"starts_at": "17:00", "ends_at": "09:00"}, "The working day ends before it starts"),
        ({"time_zone": "Asia/Tokio"}, "&#x27;Asia/Tokio&#x27; is not a known time zone"),
        ({"holidays": "23.11.2026"}, "line 1: &#x27;23.11.2026&#x27; is not a date"),
        ({"weekdays": []}, "Tick at least one working day."),
    ],
)
def test_bad_input_is_named_on_its_field_and_nothing_is_saved(coordinator, change, message):
    response = coordinator.post("/team/calendars/new/", GOOD | change)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not WorkingCalendar.objects.exists()


def test_another_teams_calendar_cannot_be_chosen(coordinator, team):
    theirs = WorkingCalendar.objects.create(team=TeamFactory(slug="biomed"), name="Theirs")
    response = coordinator.post("/team/calendars/", {"team": "dast", "team_calendar": theirs.pk})
    assert response.status_code == 400
    team.refresh_from_db()
    assert team.calendar_id is None
    assert coordinator.get(f"/team/calendars/{theirs.pk}/?team=dast").status_code == 404


def test_shifters_read_the_calendars_but_cannot_change_them(client, team):
    WorkingCalendar.objects.create(team=team, name="Geneva")
    client.force_login(MembershipFactory(team=team, role=Role.SHIFTER).user)
    page = client.get("/team/calendars/").content.decode()
    assert "Mon\u2013Fri 08:00\u201316:00 Europe/Zurich" in page
    assert "New calendar" not in page
    assert client.post("/team/calendars/new/", GOOD).status_code == 403
    assert client.post("/team/calendars/", {"team": "dast"}).status_code == 403


def test_someone_outside_the_team_sees_no_calendars(client, team):
    client.force_login(MembershipFactory(team=TeamFactory(slug="other"), role=Role.SHIFTER).user)
    assert client.get("/team/calendars/?team=dast").status_code == 404
