"""Who sees which ticket, and who may act: the team's desk people see and act on all of
its tickets; an expert with an account reads only the tickets escalated to their group and
may add notes; nobody else sees anything (404, as if it did not exist)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from escalation.models import ExpertGroup
from escalation.services import escalation_create
from tests.factories import (
    MailboxFactory,
    MembershipFactory,
    MessageFactory,
    TeamFactory,
    TicketFactory,
    UserFactory,
)
from tickets.models import Message, MessageKind, Role, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    MailboxFactory(team=team)
    anna = MembershipFactory(team=team, role=Role.SHIFTER).user
    paul = UserFactory(username="paul")  # a PanDA expert with an account
    MembershipFactory(team=team, user=paul, role=Role.EXPERT)
    panda = ExpertGroup.objects.create(team=team, name="PanDA/JEDI", email="panda@cern.ch")
    panda.members.add(paul)
    escalated = TicketFactory(team=team, subject="JEDI retry limit", status=Status.OPEN)
    MessageFactory(ticket=escalated, body_text="Task 15934870 exhausted.")
    other = TicketFactory(team=team, subject="Grid certificate renewal", status=Status.OPEN)
    escalation_create(ticket=escalated, by=anna, note="Is the retry limit reached?", group=panda)
    return type(
        "World",
        (),
        {"team": team, "anna": anna, "paul": paul, "escalated": escalated, "other": other},
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_expert_sees_only_the_tickets_escalated_to_their_group(world):
    paul = signed_in(world.paul)
    page = paul.get("/tickets/?view=all").content.decode()
    assert "JEDI retry limit" in page
    assert "Grid certificate renewal" not in page
    assert paul.get(f"/tickets/{world.escalated.reference}/").status_code == 200
    assert paul.get(f"/tickets/{world.other.reference}/").status_code == 404


def test_an_expert_reads_and_notes_but_does_not_reply_assign_or_escalate(world):
    paul = signed_in(world.paul)
    ref = world.escalated.reference
    page = paul.get(f"/tickets/{ref}/").content.decode()
    assert "Send reply" not in page
    assert "Take it" not in page
    assert "Escalate…" not in page
    assert paul.post(f"/tickets/{ref}/reply/", {"body": "Retry it."}).status_code == 403
    assert paul.post(f"/tickets/{ref}/assign/", {"to": "me"}).status_code == 403
    assert paul.post(f"/tickets/{ref}/escalate/", {"note": "x"}).status_code == 403
    assert (
        paul.post(f"/tickets/{ref}/note/", {"body": "The limit is 8 attempts."}).status_code == 302
    )
    assert Message.objects.filter(kind=MessageKind.NOTE, author=world.paul).exists()
    assert not Message.objects.filter(kind=MessageKind.EMAIL_OUT).exists()


def test_the_api_applies_the_same_rules(world):
    api = APIClient()
    api.force_authenticate(world.paul)
    refs = [t["reference"] for t in api.get("/api/v1/tickets/").json()["results"]]
    assert refs == [world.escalated.reference]
    assert api.get(f"/api/v1/tickets/{world.other.reference}/").status_code == 404
    reply = api.post(f"/api/v1/tickets/{world.escalated.reference}/reply/", {"body": "x"})
    assert reply.status_code == 403
    patch = api.patch(f"/api/v1/tickets/{world.escalated.reference}/", {"status": "closed"})
    assert patch.status_code == 403


def test_a_desk_person_of_another_team_and_a_plain_account_see_nothing(world):
    for user in (
        MembershipFactory(team=TeamFactory(slug="biomed"), role=Role.SHIFTER).user,
        UserFactory(username="nobody"),
    ):
        client = signed_in(user)
        assert client.get(f"/tickets/{world.escalated.reference}/").status_code == 404
        assert "JEDI retry limit" not in client.get("/tickets/?view=all").content.decode()


def test_the_shifter_sees_and_acts_on_everything_of_the_team(world):
    anna = signed_in(world.anna)
    page = anna.get("/tickets/?view=all").content.decode()
    assert "JEDI retry limit" in page
    assert "Grid certificate renewal" in page
    assert anna.post(f"/tickets/{world.other.reference}/assign/", {"to": "me"}).status_code == 302
