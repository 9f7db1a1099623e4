"""What every page answers whoever asks: a NUL in the address is a clear 400, and desk pages
carry a Content-Security-Policy (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from people.models import Role
from tests.factories import MembershipFactory, MessageFactory, TeamFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime(2026, 11, 18, 12, 0, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def shifter(client):
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    ticket = TicketFactory(team=team, number=7, subject="Rucio rule stuck")
    MessageFactory(ticket=ticket, body_text="My rule is stuck.")
    user = MembershipFactory(team=team, role=Role.SHIFTER).user
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/tickets/?q=%00",
        "/tickets/?q=rucio%00rule",
        "/tickets/?requester=%00",
        "/tickets/?view=all&q%00=x",
        "/api/v1/tickets/search/?q=%00",
        "/api/v1/tickets/?requester=a%00",
    ],
)
def test_a_nul_in_the_address_is_a_clear_400_not_a_500(shifter, url):
    response = shifter.get(url)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_a_search_without_a_nul_still_finds_the_ticket(shifter):
    response = shifter.get("/tickets/?q=DAST-7")
    assert response.status_code in (200, 302)


# --- Content-Security-Policy ----------------------------------------------------------------


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in header.split(";")) if part}


@pytest.mark.parametrize(
    "url",
    ["/tickets/", "/tickets/DAST-7/", "/shifts/", "/canned/", "/on-shift/", "/tickets/?view=all"],
)
def test_every_desk_page_sends_a_policy_without_inline_or_eval(shifter, url):
    response = shifter.get(url)
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["default-src"] == "default-src 'self'"
    assert policy["script-src"].startswith("script-src 'self' 'nonce-")
    assert "unsafe" not in response["Content-Security-Policy"]
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"


def test_the_pages_without_a_session_send_it_too(client):
    TeamFactory(slug="dast", ticket_prefix="DAST")
    for url in ("/login/", "/support/new/", "/on-shift/"):
        assert client.get(url).status_code == 200
        assert "script-src 'self' 'nonce-" in client.get(url)["Content-Security-Policy"]


def test_an_inline_script_carries_this_answers_nonce_and_each_answer_has_its_own(client):
    TeamFactory(slug="dast", ticket_prefix="DAST")
    first, second = client.get("/support/new/"), client.get("/support/new/")
    nonce = _policy(first)["script-src"].split("'nonce-")[1].rstrip("'")
    assert f'<script nonce="{nonce}">' in first.content.decode()
    assert nonce not in _policy(second)["script-src"]


def test_the_requester_pages_keep_their_stricter_policy(client):
    policy = client.get("/my/")["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'")
    assert "nonce" not in policy
