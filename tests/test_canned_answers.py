"""Coordinators keep the canned answers; shifters read them and see how often each is used."""

from __future__ import annotations

import pytest

from people.models import Role
from tests.factories import MembershipFactory, TeamFactory
from tickets.models import CannedAnswer

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory(slug="dast", ticket_prefix="DAST")


def test_a_coordinator_adds_and_edits_an_answer(client, team):
    client.force_login(MembershipFactory(team=team, role=Role.COORDINATOR).user)
    response = client.post(
        "/canned/new/",
        {
            "team": "dast",
            "title": "Lost heartbeat",
            "category": "panda",
            "body": "It is the site.",
            "active": "on",
        },
    )
    assert response.status_code == 302
    answer = CannedAnswer.objects.get()
    assert (answer.team, answer.category) == (team, "panda")
    client.post(
        f"/canned/{answer.pk}/",
        {"team": "dast", "title": "Lost heartbeat", "category": "", "body": "Retry it."},
    )
    answer.refresh_from_db()
    assert (answer.body, answer.active) == ("Retry it.", False)


def test_a_duplicate_title_or_an_empty_body_is_named_and_nothing_saved(client, team):
    client.force_login(MembershipFactory(team=team, role=Role.COORDINATOR).user)
    CannedAnswer.objects.create(team=team, title="Lost heartbeat", body="x")
    response = client.post("/canned/new/", {"team": "dast", "title": "lost HEARTBEAT", "body": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is already an answer with this title." in page
    assert "This field is required." in page
    assert CannedAnswer.objects.count() == 1


def test_shifters_read_the_list_with_usage_but_cannot_edit(client, team):
    CannedAnswer.objects.create(team=team, title="Dataset not found", body="Check the did.", uses=7)
    client.force_login(MembershipFactory(team=team, role=Role.SHIFTER).user)
    page = client.get("/canned/").content.decode()
    assert "Dataset not found" in page
    assert "<td>7 times</td>" in page
    assert "New answer" not in page
    assert client.post("/canned/new/", {"title": "x", "body": "y"}).status_code == 403
    assert CannedAnswer.objects.count() == 1


def test_another_teams_answers_stay_hidden(client, team):
    CannedAnswer.objects.create(team=team, title="Dataset not found", body="x")
    client.force_login(MembershipFactory(team=TeamFactory(slug="biomed")).user)
    assert "Dataset not found" not in client.get("/canned/").content.decode()
    assert client.get("/canned/?team=dast").status_code == 404
