"""A person signs in with a real browser and reads the ticket list."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.factories import MembershipFactory, TeamFactory, TicketFactory
from tickets.models import Status

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path(os.environ.get("DAST_SCREENSHOTS", "")) if os.environ.get("DAST_SCREENSHOTS") else None


def test_a_shifter_signs_in_in_chromium_and_sees_the_open_tickets(live_server, browser_context):
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    user = MembershipFactory(team=team).user
    TicketFactory(team=team, number=1234, subject="Rucio rule stuck REPLICATING at BNL")
    TicketFactory(team=team, number=1235, subject="Already solved", status=Status.CLOSED)
    page = browser_context.new_page()
    page.goto(f"{live_server.url}/tickets/")
    assert "/login/" in page.url
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/tickets/")
    rows = page.locator("table.tickets tbody tr")
    assert rows.count() == 1
    assert "DAST-1234" in rows.first.inner_text()
    assert "Already solved" not in page.content()
    if SHOTS:
        page.screenshot(path=str(SHOTS / "ticket-list-test.png"), full_page=True)
    page.click("text=DAST-1234")
    page.wait_for_url("**/tickets/DAST-1234/")
    assert page.locator("h1").inner_text().startswith("[DAST-1234]")
