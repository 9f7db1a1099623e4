"""Updates without full reloads (htmx, served from django-htmx's static files): the queue
answers htmx with its list alone, the ticket page's forms post through htmx and the page's
messages come back with them; without JavaScript every form still posts and redirects."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from people.models import Role
from tests.factories import MembershipFactory, MessageFactory, TeamFactory, TicketFactory
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "queue"}


@pytest.fixture
def desk(client):
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    anna = MembershipFactory(team=team, role=Role.SHIFTER).user
    mine = TicketFactory(team=team, subject="Mine open", status=Status.OPEN, assignee=anna)
    new = TicketFactory(team=team, subject="New one", status=Status.NEW)
    MessageFactory(ticket=mine, body_text="It fails.")
    client.force_login(anna)
    return type("Desk", (), {"team": team, "anna": anna, "mine": mine, "new": new})


def test_the_page_loads_htmx_from_our_own_static_files(client, desk):
    html = client.get(reverse("ticket-list")).content.decode()
    src = re.search(r'<script src="/static/(django_htmx/htmx[^"]+)"', html)
    assert src is not None
    assert finders.find(src.group(1)) is not None


def test_htmx_gets_the_queue_alone_and_a_browser_the_whole_page(client, desk):
    partial = client.get(reverse("ticket-list"), {"view": "mine"}, **HTMX).content.decode()
    assert "<html" not in partial
    assert partial.count('id="queue"') == 1
    assert "Mine open" in partial
    assert "New one" not in partial
    whole_response = client.get(reverse("ticket-list"), {"view": "mine"})
    assert "HX-Request" in whole_response["Vary"]
    whole = whole_response.content.decode()
    assert whole.startswith("<!doctype html>")
    assert 'id="queue"' in whole
    # Going back in history with an empty htmx cache wants the whole page again.
    restore = client.get(
        reverse("ticket-list"), {"view": "mine"}, HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX
    )
    assert restore.content.decode().startswith("<!doctype html>")


def test_the_queue_refreshes_itself_at_the_configured_pace(client, desk, settings):
    settings.QUEUE_REFRESH_SECONDS = 90
    html = client.get(reverse("ticket-list"), {"view": "mine"}).content.decode()
    assert 'hx-get="/tickets/?view=mine"' in html
    # Not while in use: static/js/desk.js calls the refresh off (no eval'd filter: the CSP).
    assert 'hx-trigger="every 90s"' in html


def test_a_bulk_action_through_htmx_comes_back_as_the_queue_with_its_message(client, desk):
    response = client.post(
        reverse("ticket-bulk"),
        {"action": "close", "tickets": [desk.new.pk], "back": "view=all"},
        follow=True,
        **HTMX,
    )
    html = response.content.decode()
    assert "<html" not in html
    assert '<div id="flash" hx-swap-oob="true"' in html
    assert "1 closed." in html
    assert Ticket.objects.get(pk=desk.new.pk).status == Status.CLOSED


def test_the_ticket_pages_forms_post_through_htmx_and_work_without_it(client, desk):
    url = reverse("ticket-detail", args=[desk.mine.reference])
    html = client.get(url).content.decode()
    assert 'id="ticket" hx-target="#ticket" hx-select="#ticket"' in html
    assert 'hx-select-oob="#flash"' in html
    ticket = html[html.index('id="ticket"') :]
    forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>", ticket)
    assert len(forms) >= 6
    assert all("hx-boost" in form for form in forms), forms
    # The same POST without htmx: a redirect to the page, which shows the note and says so.
    response = client.post(reverse("ticket-note", args=[desk.mine.reference]), {"body": "Seen."})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "Seen." in page
    assert '<div id="flash"' in page
