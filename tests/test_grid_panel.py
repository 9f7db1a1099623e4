"""The ticket page's grid panel: ids named anywhere in the thread, linked to the monitors."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import MembershipFactory, MessageFactory, TeamFactory, TicketFactory
from tickets.gridpanel import grid_links, ticket_grid_ids
from tickets.gridtext import GridIds

pytestmark = pytest.mark.django_db


def test_links_follow_the_url_templates_and_quote_what_they_insert(settings):
    settings.GRID_MONITOR_URLS = {
        "task": "https://mon.example/task/{id}/",
        "dataset": "https://rucio.example/did?scope={scope}&name={name}",
    }
    ids = GridIds(tasks=(15934870,), datasets=("user.jdoe:out/ a&b",), queues=("ANALY_BNL",))
    groups = dict(grid_links(ids))
    assert groups["JEDI tasks"][0].url == "https://mon.example/task/15934870/"
    assert (
        groups["Datasets"][0].url == "https://rucio.example/did?scope=user.jdoe&name=out%2F%20a%26b"
    )
    assert groups["Queues"][0].url == ""  # no template configured: shown, not linked


def test_the_panel_lists_ids_from_the_subject_and_every_message(client):
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    client.force_login(MembershipFactory(team=team).user)
    ticket = TicketFactory(team=team, subject="JEDI task 15934870 exhausted")
    MessageFactory(ticket=ticket, body_text="See https://bigpanda.cern.ch/job?pandaid=6520941449")
    MessageFactory(ticket=ticket, body_text="Output user.jdoe:user.jdoe.15934870.out is empty.")
    ids = ticket_grid_ids(ticket)
    assert ids.tasks == (15934870,)
    assert ids.jobs == (6520941449,)
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert 'aria-label="Grid identifiers"' in page
    assert "https://bigpanda.cern.ch/task/15934870/" in page
    assert "https://bigpanda.cern.ch/job?pandaid=6520941449" in page
    assert "user.jdoe:user.jdoe.15934870.out" in page


def test_no_ids_no_panel(client):
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    client.force_login(MembershipFactory(team=team).user)
    ticket = TicketFactory(team=team, subject="Password reset")
    MessageFactory(ticket=ticket, body_text="I forgot my password.")
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert "Grid identifiers" not in page
