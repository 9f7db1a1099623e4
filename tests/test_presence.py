"""'Anna is replying': someone writing in a ticket's reply box is shown to the others on
the ticket's page within seconds (kept in the cache), and not after PRESENCE_TTL_S."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from people.models import Role
from tests.factories import MembershipFactory, TeamFactory, TicketFactory, shift_team

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_at(datetime(2026, 11, 18, 9, tzinfo=UTC))]
NOTICE = "replying to this ticket right now"


@pytest.fixture
def team():
    return shift_team({"anna": Role.SHIFTER, "pierre": Role.SHIFTER, "sofia": Role.SHIFTER})


@pytest.fixture
def ticket(team):
    return TicketFactory(team=team)


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _presence(client: Client, ticket) -> str:
    answer = client.get(f"/tickets/{ticket.reference}/presence/")
    assert answer.status_code == 200
    return answer.content.decode()


def test_someone_writing_is_shown_to_the_others_and_not_to_themselves(team, ticket):
    anna, pierre = _as(team.people["anna"]), _as(team.people["pierre"])
    assert NOTICE not in _presence(pierre, ticket)
    assert anna.post(f"/tickets/{ticket.reference}/writing/").status_code == 204
    assert "<strong>Anna Doe</strong> is replying to this ticket right now." in _presence(
        pierre, ticket
    )
    assert NOTICE not in _presence(anna, ticket)
    page = pierre.get(f"/tickets/{ticket.reference}/").content.decode()
    assert "<strong>Anna Doe</strong> is replying" in page
    assert 'hx-trigger="every 3s"' in page


def test_two_writers_are_both_named(team, ticket):
    _as(team.people["anna"]).post(f"/tickets/{ticket.reference}/writing/")
    _as(team.people["sofia"]).post(f"/tickets/{ticket.reference}/writing/")
    shown = _presence(_as(team.people["pierre"]), ticket)
    assert "<strong>Anna Doe</strong> and <strong>Sofia Doe</strong> are replying" in shown


def test_the_notice_goes_once_the_writer_stops_for_the_ttl(team, ticket, frozen_clock, settings):
    settings.PRESENCE_TTL_S = 15
    _as(team.people["anna"]).post(f"/tickets/{ticket.reference}/writing/")
    pierre = _as(team.people["pierre"])
    frozen_clock.shift(timedelta(seconds=14))
    assert "Anna Doe" in _presence(pierre, ticket)
    frozen_clock.shift(timedelta(seconds=2))
    assert NOTICE not in _presence(pierre, ticket)


def test_sending_the_reply_ends_the_notice(team, ticket):
    anna = _as(team.people["anna"])
    anna.post(f"/tickets/{ticket.reference}/writing/")
    anna.post(f"/tickets/{ticket.reference}/note/", {"body": "Checked the pilot logs."})
    assert NOTICE not in _presence(_as(team.people["pierre"]), ticket)


def test_nobody_outside_the_ticket_writes_or_sees_the_notice(team, ticket):
    _as(team.people["anna"]).post(f"/tickets/{ticket.reference}/writing/")
    stranger = _as(MembershipFactory(team=TeamFactory(slug="biomed"), role=Role.SHIFTER).user)
    assert stranger.get(f"/tickets/{ticket.reference}/presence/").status_code == 404
    assert stranger.post(f"/tickets/{ticket.reference}/writing/").status_code == 404
    assert Client().get(f"/tickets/{ticket.reference}/presence/").status_code == 302


def test_writing_needs_the_csrf_token(team, ticket):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.people["anna"])
    assert client.post(f"/tickets/{ticket.reference}/writing/").status_code == 403
    assert NOTICE not in _presence(_as(team.people["pierre"]), ticket)
