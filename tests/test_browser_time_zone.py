"""Times on the desk's pages are the viewer's: the browser's zone reaches the server in the
``tz`` cookie, written so that the server understands it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from people.models import Role
from tests.browser import chromium, chromium_path, sign_in
from tests.conftest import need_server
from tests.factories import MailboxFactory, MembershipFactory, TeamFactory, UserFactory
from tickets.services import Sender, ticket_open

pytestmark = pytest.mark.django_db(transaction=True)
GENEVA = ZoneInfo("Europe/Zurich")


@pytest.fixture
def chicago_browser(monkeypatch):
    if chromium_path() is None:
        need_server("Chromium", "/usr/bin/chromium is missing")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium(timezone_id="America/Chicago") as context:
        yield context


def test_a_browser_in_chicago_sees_the_ticket_in_chicago_time(live_server, chicago_browser):
    team = TeamFactory(slug="dast", name="ATLAS DAST", ticket_prefix="DAST")
    MailboxFactory(team=team)
    anna = MembershipFactory(team=team, user=UserFactory(username="anna"), role=Role.SHIFTER).user
    ticket = ticket_open(
        team=team,
        sender=Sender("jdoe@cern.ch", "Jane Doe"),
        subject="Jobs of task 15934870 lost heartbeat",
        body_text="All jobs die with lost heartbeat.",
        created_at=datetime(2026, 11, 18, 10, 0, tzinfo=GENEVA),
        announce=False,
    )
    page = chicago_browser.new_page()
    sign_in(page, live_server, anna)  # the queue's script tells the server the zone
    cookie = next(c for c in chicago_browser.cookies() if c["name"] == "tz")
    assert cookie["value"] == "America/Chicago"
    page.goto(f"{live_server.url}/tickets/{ticket.reference}/")
    expect(page.locator("article time").first).to_have_text("Wed 18 Nov 2026, 03:00 CST")
