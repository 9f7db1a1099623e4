import pytest
from django.urls import reverse

from people.models import Role
from tests.factories import MembershipFactory, MessageFactory, TeamFactory, TicketFactory
from tickets.models import Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def shifter(client):
    membership = MembershipFactory(team=TeamFactory(slug="dast", ticket_prefix="DAST"))
    client.force_login(membership.user)
    return membership


def test_the_ticket_list_asks_strangers_to_sign_in(client):
    response = client.get(reverse("ticket-list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_signing_in_with_the_right_password_lands_on_the_ticket_list(client):
    user = MembershipFactory().user
    response = client.post(reverse("login"), {"username": user.username, "password": "pw"})
    assert response.status_code == 302
    assert response.url == reverse("ticket-list")
    assert client.get(reverse("ticket-list")).status_code == 200


def test_a_wrong_password_is_refused_with_a_reason(client):
    user = MembershipFactory().user
    response = client.post(reverse("login"), {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct" in response.content.decode()


def test_a_shifter_sees_the_open_tickets_of_their_team_only(client, shifter):
    mine = TicketFactory(team=shifter.team, subject="Rucio download fails at BNL")
    TicketFactory(team=shifter.team, subject="Solved long ago", status=Status.CLOSED)
    TicketFactory(team=TeamFactory(slug="biomed"), subject="Biomed VOMS proxy expired")
    page = client.get(reverse("ticket-list")).content.decode()
    assert "Rucio download fails at BNL" in page
    assert mine.reference in page
    assert "Solved long ago" not in page
    assert "Biomed VOMS proxy expired" not in page


def test_the_done_tab_lists_closed_tickets(client, shifter):
    TicketFactory(team=shifter.team, subject="Solved long ago", status=Status.CLOSED)
    page = client.get(reverse("ticket-list"), {"tab": "done"}).content.decode()
    assert "Solved long ago" in page


def test_the_ticket_page_shows_the_thread_with_mail_escaped(client, shifter):
    ticket = TicketFactory(team=shifter.team)
    MessageFactory(ticket=ticket, body_text="Job 4012345678 failed <script>alert(1)</script>")
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert "Job 4012345678 failed" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_another_teams_ticket_is_not_found_rather_than_forbidden(client, shifter):
    foreign = TicketFactory(team=TeamFactory(slug="biomed", ticket_prefix="BIOMED"))
    response = client.get(reverse("ticket-detail", args=[foreign.reference]))
    assert response.status_code == 404


def test_an_expert_without_a_desk_role_sees_no_team_tickets(client):
    expert = MembershipFactory(role=Role.EXPERT)
    TicketFactory(team=expert.team, subject="Internal to the desk")
    client.force_login(expert.user)
    assert "Internal to the desk" not in client.get(reverse("ticket-list")).content.decode()


def test_signing_out_needs_a_post_with_the_csrf_token():
    from django.test import Client

    membership = MembershipFactory()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(membership.user)
    assert strict.post(reverse("logout")).status_code == 403
    assert strict.get(reverse("ticket-list")).status_code == 200
