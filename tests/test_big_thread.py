"""A long thread's page shows its first message and the latest THREAD_LATEST_MESSAGES, with
"show older" loading the rest a page at a time (htmx, or a plain link without JavaScript);
its cost in queries does not grow with the thread."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from people.models import Role
from tests.factories import MembershipFactory, MessageFactory, TeamFactory, TicketFactory
from tickets.models import Status

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_at(datetime(2025, 5, 5, 12, 0, tzinfo=UTC))]
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def desk(client, settings):
    settings.THREAD_LATEST_MESSAGES = 5
    settings.THREAD_OLDER_PAGE = 4
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    anna = MembershipFactory(team=team, role=Role.SHIFTER).user
    ticket = TicketFactory(team=team, subject="Stage-in failure", status=Status.OPEN)
    client.force_login(anna)
    return type("Desk", (), {"team": team, "anna": anna, "ticket": ticket})


def grow(ticket, n: int) -> None:
    for i in range(n):
        MessageFactory(
            ticket=ticket, body_text=f"message number {i}", created_at=START + timedelta(hours=i)
        )


def numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"message number (\d+)", html)]


def page(client, ticket, **extra) -> str:
    response = client.get(reverse("ticket-detail", args=[ticket.reference]), **extra)
    assert response.status_code == 200
    return response.content.decode()


def older(client, ticket, before, htmx=True):
    url = reverse("ticket-thread-older", args=[ticket.reference])
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.get(url, {"before": before}, **headers)


def test_a_long_thread_shows_its_first_message_and_the_latest(client, desk):
    grow(desk.ticket, 15)
    html = page(client, desk.ticket)
    assert numbers(html) == [0, 10, 11, 12, 13, 14]
    assert "Show 9 older messages" in html


def test_a_short_thread_shows_every_message_and_no_link(client, desk):
    grow(desk.ticket, 6)
    html = page(client, desk.ticket)
    assert numbers(html) == [0, 1, 2, 3, 4, 5]
    assert "older message" not in html


def test_show_older_loads_the_rest_a_page_at_a_time(client, desk):
    grow(desk.ticket, 15)
    before = re.search(r"older/\?before=(\d+)", page(client, desk.ticket)).group(1)
    first = older(client, desk.ticket, before).content.decode()
    assert numbers(first) == [6, 7, 8, 9]
    assert "Show 5 older messages" in first
    assert "<html" not in first
    before = re.search(r"older/\?before=(\d+)", first).group(1)
    second = older(client, desk.ticket, before).content.decode()
    assert numbers(second) == [2, 3, 4, 5]
    before = re.search(r"older/\?before=(\d+)", second).group(1)
    last = older(client, desk.ticket, before).content.decode()
    assert numbers(last) == [1]  # the first message is on the page already
    assert "older message" not in last


def test_without_javascript_the_link_opens_a_page_of_its_own(client, desk):
    grow(desk.ticket, 15)
    before = re.search(r"older/\?before=(\d+)", page(client, desk.ticket)).group(1)
    response = older(client, desk.ticket, before, htmx=False)
    html = response.content.decode()
    assert "<html" in html
    assert numbers(html) == [6, 7, 8, 9]
    assert "Back to the ticket" in html


def test_older_messages_of_another_teams_ticket_are_a_404(client, desk):
    grow(desk.ticket, 15)
    before = desk.ticket.messages.order_by("-created_at").first().pk
    stranger = MembershipFactory(team=TeamFactory(slug="other"), role=Role.SHIFTER).user
    client.force_login(stranger)
    assert older(client, desk.ticket, before).status_code == 404
    client.force_login(desk.anna)
    assert older(client, desk.ticket, "x").status_code == 404


def test_the_page_costs_as_many_queries_for_a_long_thread_as_for_a_short_one(client, desk):
    grow(desk.ticket, 3)
    page(client, desk.ticket)
    with CaptureQueriesContext(connection) as short:
        page(client, desk.ticket)
    grow(desk.ticket, 40)
    page(client, desk.ticket)
    with CaptureQueriesContext(connection) as long:
        page(client, desk.ticket)
    assert len(long) == len(short)
