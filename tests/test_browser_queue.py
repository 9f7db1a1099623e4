"""The queue in Chromium: tabs, filters and pages change the list in place (htmx), the URL
follows so that back and reload work, and an open queue shows new tickets by itself, except
while the shifter is ticking tickets for a bulk action."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from people.models import Role
from tests.browser import sign_in
from tests.factories import MembershipFactory, TeamFactory, TicketFactory, UserFactory
from tickets.models import Status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def desk():
    team = TeamFactory(slug="dast", name="ATLAS DAST", ticket_prefix="DAST")
    anna = UserFactory(username="anna", first_name="Anna", last_name="Keller")
    MembershipFactory(team=team, user=anna, role=Role.SHIFTER)
    TicketFactory(team=team, subject="Rucio download hangs", status=Status.NEW)
    TicketFactory(team=team, subject="Proxy expired", status=Status.OPEN, assignee=anna)
    return type("Desk", (), {"team": team, "anna": anna})


def rows(page: Page):
    return page.locator("table.tickets tbody tr")


def test_tabs_and_search_change_the_list_in_place_and_the_url_follows(
    live_server, browser_context, desk
):
    page = browser_context.new_page()
    sign_in(page, live_server, desk.anna)
    page.evaluate("window.sameDocument = true")
    page.click("nav.tabs >> text=Mine")
    expect(page).to_have_url(f"{live_server.url}/tickets/?view=mine")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Proxy expired")
    page.fill("input[name=q]", "rucio")
    page.press("input[name=q]", "Enter")
    expect(rows(page).first).to_contain_text("Rucio download hangs")
    assert page.evaluate("window.sameDocument") is True
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/tickets/?view=mine")
    expect(rows(page).first).to_contain_text("Proxy expired")


def test_an_open_queue_shows_new_tickets_unless_tickets_are_ticked(
    live_server, browser_context, desk, settings
):
    settings.QUEUE_REFRESH_SECONDS = 1
    page = browser_context.new_page()
    sign_in(page, live_server, desk.anna)
    page.click("nav.tabs >> text=All open")
    expect(rows(page)).to_have_count(2)
    page.evaluate("window.sameDocument = true")
    TicketFactory(team=desk.team, subject="Task 4711 exhausted", status=Status.NEW)
    expect(rows(page).filter(has_text="Task 4711 exhausted")).to_have_count(1, timeout=10_000)
    assert page.evaluate("window.sameDocument") is True
    # A ticked box holds the list still: the refresh would untick it.
    rows(page).first.locator("input[type=checkbox]").check()
    TicketFactory(team=desk.team, subject="Quota exceeded", status=Status.NEW)
    page.wait_for_timeout(3_000)
    expect(rows(page).filter(has_text="Quota exceeded")).to_have_count(0)
    rows(page).first.locator("input[type=checkbox]").uncheck()
    page.locator("body").click(position={"x": 5, "y": 5})
    expect(rows(page).filter(has_text="Quota exceeded")).to_have_count(1, timeout=10_000)
