"""The escalation REST API: the directory (groups, clouds, sites), escalations (create, list,
detail, cancel) and timers (read), with its errors and who may do what."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from escalation.models import Escalation, EscalationState, ExpertGroup, GroupKind, Timer
from escalation.services import escalation_create
from people.models import Role
from tests.factories import MailboxFactory, MembershipFactory, TeamFactory, UserFactory
from tickets.models import ExternalRef, OutboundMail, RefSystem, Status, Ticket
from tickets.models.mail import OutboundKind
from tickets.services import Sender, external_refs_add, ticket_open

API = "/api/v1/escalation"
GENEVA = ZoneInfo("Europe/Zurich")
WEDNESDAY_10 = datetime(2026, 11, 18, 10, 0, tzinfo=GENEVA)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen_at(WEDNESDAY_10)]


@pytest.fixture
def desk():
    team = TeamFactory(slug="dast", ticket_prefix="DAST", name="ATLAS DAST")
    MailboxFactory(team=team)
    people = {
        name: MembershipFactory(team=team, user=UserFactory(username=name), role=role).user
        for name, role in (
            ("anna", Role.SHIFTER),
            ("tomas", Role.TRAINEE),
            ("elena", Role.COORDINATOR),
        )
    }
    de = ExpertGroup.objects.create(team=team, kind=GroupKind.CLOUD, name="DE", email="de@x.org")
    groups = {
        "panda": ExpertGroup.objects.create(team=team, name="PanDA/JEDI", email="panda@cern.ch"),
        "de": de,
        "fzk": ExpertGroup.objects.create(
            team=team,
            kind=GroupKind.SITE,
            name="FZK-LCG2",
            email="fzk@kit.edu",
            cloud=de,
            response_target_hours=16,
        ),
    }
    ticket = ticket_open(
        team=team,
        sender=Sender("jdoe@cern.ch", "Jane Doe"),
        subject="Task 15934870 exhausted",
        body_text="All jobs of task 15934870 fail; see ATLASPANDA-426.",
        announce=False,
    )
    Ticket.objects.filter(pk=ticket.pk).update(assignee=people["anna"], status=Status.OPEN)
    ticket.refresh_from_db()
    return type("Desk", (), {"team": team, "people": people, "groups": groups, "ticket": ticket})


def client(user=None) -> APIClient:
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    return api


# --- the directory --------------------------------------------------------------------------


def test_everyone_in_the_team_reads_the_groups_and_the_sites_list_only_clouds_and_sites(desk):
    answer = client(desk.people["tomas"]).get(f"{API}/groups/")
    assert answer.status_code == 200
    assert {g["name"] for g in answer.json()["results"]} == {"PanDA/JEDI", "DE", "FZK-LCG2"}
    sites = client(desk.people["anna"]).get(f"{API}/sites/").json()["results"]
    assert [(s["kind"], s["name"], s["cloud_name"]) for s in sites] == [
        ("cloud", "DE", None),
        ("site", "FZK-LCG2", "DE"),
    ]
    experts = client(desk.people["anna"]).get(f"{API}/groups/?kind=expert").json()["results"]
    assert [g["name"] for g in experts] == ["PanDA/JEDI"]
    assert client(desk.people["anna"]).get(f"{API}/groups/?kind=wizard").status_code == 400


def test_strangers_and_other_teams_see_nothing(desk):
    assert client().get(f"{API}/groups/").status_code == 403
    outsider = UserFactory(username="mallory")
    MembershipFactory(team=TeamFactory(slug="biomed"), user=outsider)
    answer = client(outsider).get(f"{API}/escalations/?team=dast")
    assert answer.status_code == 404
    panda = desk.groups["panda"]
    assert client(outsider).get(f"{API}/groups/{panda.pk}/?team=biomed").status_code == 404


def test_a_coordinator_adds_a_site_to_a_cloud_with_its_policy(desk):
    answer = client(desk.people["elena"]).post(
        f"{API}/groups/",
        {
            "kind": "site",
            "name": "DESY-HH",
            "email": "desy-support@desy.de",
            "cloud": desk.groups["de"].pk,
            "next_level_kind": "group",
            "next_level": desk.groups["de"].pk,
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["cloud_name"], body["next_level_name"]) == ("DE", "DE")
    assert (body["remind_percent"], body["next_level_percent"]) == (100, 200)
    assert body["response_target_hours"] == 16  # a site's default: two working days
    assert ExpertGroup.objects.get(name="DESY-HH").cloud == desk.groups["de"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "expert", "cloud": "DE"}, "cloud"),  # only sites belong to a cloud
        ({"kind": "site", "cloud": "PANDA"}, "cloud"),  # the "cloud" is not a cloud
        ({"email": "not an address"}, "email"),
        ({"name": "PanDA/JEDI"}, "name"),  # already in the team
        ({"remind_percent": 200, "next_level_percent": 150}, "next_level_percent"),
        ({"response_target_hours": 0}, "response_target_hours"),
        ({"next_level": 999999}, "next_level"),
    ],
)
def test_a_bad_group_says_which_field_and_writes_nothing(desk, change, field):
    data = {"kind": "expert", "name": "Rucio/DDM", "email": "ddm@cern.ch", **change}
    ids = {"DE": desk.groups["de"].pk, "PANDA": desk.groups["panda"].pk}
    if data.get("cloud") in ids:
        data["cloud"] = ids[data["cloud"]]
    before = ExpertGroup.objects.count()
    answer = client(desk.people["elena"]).post(f"{API}/groups/", data, format="json")
    assert answer.status_code == 400
    assert field in answer.json(), answer.json()
    assert ExpertGroup.objects.count() == before


def test_an_expert_group_gets_one_working_day_by_default(desk):
    answer = client(desk.people["elena"]).post(
        f"{API}/groups/", {"name": "Rucio/DDM", "email": "ddm@cern.ch"}, format="json"
    )
    assert answer.status_code == 201, answer.json()
    assert (answer.json()["kind"], answer.json()["response_target_hours"]) == ("expert", 8)


def test_only_coordinators_change_the_directory(desk):
    panda = desk.groups["panda"]
    answer = client(desk.people["anna"]).patch(
        f"{API}/groups/{panda.pk}/", {"response_target_hours": 24}, format="json"
    )
    assert answer.status_code == 403
    assert "coordinators" in answer.json()["detail"]
    answer = client(desk.people["elena"]).patch(
        f"{API}/groups/{panda.pk}/", {"response_target_hours": 24}, format="json"
    )
    assert answer.status_code == 200
    panda.refresh_from_db()
    assert panda.response_target_hours == 24


# --- escalations ----------------------------------------------------------------------------


def test_a_shifter_escalates_by_api_and_the_answer_shows_the_mail_and_the_timer(desk):
    answer = client(desk.people["anna"]).post(
        f"{API}/escalations/",
        {"ticket": "DAST-1", "group": desk.groups["panda"].pk, "note": "Lost heartbeat again."},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["ticket"] == "DAST-1"
    assert body["group"]["name"] == "PanDA/JEDI"
    assert body["state"] == "waiting"
    assert body["created_by"] == desk.people["anna"].get_full_name()
    assert body["mail_sent_at"] is None  # queued in the outbox, not sent yet
    [timer] = body["timers"]
    assert timer["kind"] == "expert_response"
    assert timer["due_at"] == "2026-11-19T09:00:00Z"  # one working day: Thursday 10:00 Geneva
    assert "token" not in body  # the reply token stays in the mail
    assert OutboundMail.objects.filter(kind=OutboundKind.ESCALATION, to="panda@cern.ch").exists()
    desk.ticket.refresh_from_db()
    assert desk.ticket.status == Status.WAITING_ON_EXPERT


def test_an_escalation_can_wait_on_an_external_reference(desk):
    external_refs_add(ticket=desk.ticket, refs=[("jira", "ATLASPANDA-426")], by=desk.people["anna"])
    ref = ExternalRef.objects.get(ticket=desk.ticket, system=RefSystem.JIRA)
    answer = client(desk.people["anna"]).post(
        f"{API}/escalations/",
        {"ticket": "dast-1", "external_ref": ref.pk, "note": "Waiting for the JEDI fix."},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["external_ref"]["key"] == "ATLASPANDA-426"
    assert answer.json()["external_ref"]["url"].endswith("ATLASPANDA-426")
    assert not OutboundMail.objects.filter(kind=OutboundKind.ESCALATION).exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"ticket": "DAST-99", "group": "panda"}, "ticket"),
        ({"ticket": "DAST-x", "group": "panda"}, "ticket"),
        ({"ticket": "DAST-1", "group": 999999}, "group"),
        ({"ticket": "DAST-1", "external_ref": 999999}, "external_ref"),
        ({"ticket": "DAST-1"}, "group"),  # neither a group nor a reference
        ({"ticket": "DAST-1", "group": "panda", "note": "   "}, "note"),
    ],
)
def test_a_refused_escalation_names_the_field_and_changes_nothing(desk, data, field):
    data = {"note": "Please help.", **data}
    if data.get("group") == "panda":
        data["group"] = desk.groups["panda"].pk
    answer = client(desk.people["anna"]).post(f"{API}/escalations/", data, format="json")
    assert answer.status_code == 400
    body = answer.json()
    assert field in body or body.get("field") == field, body
    assert not Escalation.objects.exists()
    assert not Timer.objects.filter(kind="expert_response").exists()


def test_escalating_a_closed_ticket_is_refused_with_a_reason(desk):
    Ticket.objects.filter(pk=desk.ticket.pk).update(status=Status.CLOSED)
    answer = client(desk.people["anna"]).post(
        f"{API}/escalations/",
        {"ticket": "DAST-1", "group": desk.groups["panda"].pk, "note": "Help."},
        format="json",
    )
    assert answer.status_code == 400
    assert "reopen it" in answer.json()["detail"]
    assert not Escalation.objects.exists()


def test_list_filters_and_detail_with_a_constant_number_of_queries(desk):
    anna = desk.people["anna"]
    for group in ("panda", "fzk", "de"):
        escalation_create(ticket=desk.ticket, by=anna, note="Look.", group=desk.groups[group])
    other = ticket_open(
        team=desk.team, sender=Sender("b@cern.ch", "B"), subject="Rucio", body_text="x"
    )
    escalation_create(ticket=other, by=anna, note="Look.", group=desk.groups["panda"])
    api = client(anna)
    with CaptureQueriesContext(connection) as few:
        answer = api.get(f"{API}/escalations/?ticket=DAST-1")
    assert answer.status_code == 200
    assert answer.json()["count"] == 3
    api.get(f"{API}/escalations/")  # warm
    with CaptureQueriesContext(connection) as more:
        assert api.get(f"{API}/escalations/").json()["count"] == 4
    assert len(more) == len(few)
    panda = desk.groups["panda"].pk
    assert api.get(f"{API}/escalations/?group={panda}").json()["count"] == 2
    assert api.get(f"{API}/escalations/?state=answered").json()["count"] == 0
    assert api.get(f"{API}/escalations/?state=maybe").status_code == 400
    first = Escalation.objects.order_by("pk").first()
    detail = api.get(f"{API}/escalations/{first.pk}/").json()
    assert detail["timers"][0]["state"] == "armed"


def test_cancel_stops_the_timer_and_a_second_cancel_is_refused(desk):
    esc = escalation_create(
        ticket=desk.ticket, by=desk.people["anna"], note="Look.", group=desk.groups["panda"]
    )
    api = client(desk.people["anna"])
    answer = api.post(f"{API}/escalations/{esc.pk}/cancel/")
    assert answer.status_code == 200
    assert answer.json()["state"] == EscalationState.CANCELLED
    assert answer.json()["timers"][0]["state"] == "cancelled"
    again = api.post(f"{API}/escalations/{esc.pk}/cancel/")
    assert again.status_code == 400
    assert "already cancelled" in again.json()["detail"]
    assert api.get(f"{API}/escalations/{esc.pk}/cancel/").status_code == 405


# --- timers ---------------------------------------------------------------------------------


def test_timers_are_read_only_and_filtered(desk):
    escalation_create(
        ticket=desk.ticket, by=desk.people["anna"], note="Look.", group=desk.groups["fzk"]
    )
    api = client(desk.people["tomas"])
    timers = api.get(f"{API}/timers/?ticket=DAST-1&state=armed").json()["results"]
    assert [t["kind"] for t in timers] == ["expert_response"]
    [timer] = timers
    assert timer["due_at"] == "2026-11-20T09:00:00Z"  # two working days for a site
    assert api.get(f"{API}/timers/{timer['id']}/").json()["ticket"] == "DAST-1"
    assert api.post(f"{API}/timers/", {}).status_code == 405
    assert api.delete(f"{API}/timers/{timer['id']}/").status_code == 405
    assert api.get(f"{API}/timers/?kind=alarm").status_code == 400
