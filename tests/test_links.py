"""A ticket's address is built one way: ``Ticket.get_absolute_url()`` for the desk's page,
``get_requester_url()`` for its requester's, and ``common.links.site_url`` makes either an
absolute link for a mail on SITE_URL."""

from __future__ import annotations

import pytest
from django.urls import resolve

from common.links import site_url
from tests.factories import TeamFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket():
    return TicketFactory(team=TeamFactory(ticket_prefix="DAST"), number=7)


def test_a_ticket_s_page_is_its_absolute_url(ticket):
    assert ticket.get_absolute_url() == "/tickets/DAST-7/"
    assert resolve(ticket.get_absolute_url()).url_name == "ticket-detail"


def test_its_requester_s_page_is_another_address(ticket):
    assert ticket.get_requester_url() == "/my/tickets/DAST-7/"
    assert resolve(ticket.get_requester_url()).url_name == "requester-ticket"


def test_a_mail_links_a_ticket_or_a_path_on_the_site_s_address(ticket, settings):
    settings.SITE_URL = "https://desk.example.org"
    assert site_url(ticket) == "https://desk.example.org/tickets/DAST-7/"
    assert site_url(ticket, "d3") == "https://desk.example.org/tickets/DAST-7/#d3"
    assert site_url("/shifts/?month=2026-11", "swap-4") == (
        "https://desk.example.org/shifts/?month=2026-11#swap-4"
    )
