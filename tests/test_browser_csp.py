"""The desk's pages work in Chromium under their Content-Security-Policy: nothing is refused
(no violation event, no console report) while a shifter uses the queue (tabs, the refresh),
a ticket, the calendar, the canned answers, the support form and the sign-in page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from people.models import Role
from tests.browser import sign_in
from tests.factories import MailboxFactory, MembershipFactory, TeamFactory, UserFactory
from tickets.services import Sender, ticket_open

pytestmark = pytest.mark.django_db(transaction=True)

# Every violation the page sees, recorded before any of its own scripts run.
RECORD = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def desk(settings):
    settings.QUEUE_REFRESH_SECONDS = 1
    team = TeamFactory(slug="dast", name="ATLAS DAST", ticket_prefix="DAST")
    MailboxFactory(team=team)
    anna = UserFactory(username="anna", first_name="Anna", last_name="Keller")
    MembershipFactory(team=team, user=anna, role=Role.COORDINATOR)
    ticket = ticket_open(
        team=team,
        sender=Sender("jdoe@cern.ch", "Jane Doe"),
        subject="Jobs of task 15934870 lost heartbeat",
        body_text="All jobs of JEDI task 15934870 die with lost heartbeat.",
        category="panda",
        announce=False,
    )
    return type("Desk", (), {"anna": anna, "ticket": ticket})


def test_the_desk_pages_work_under_their_policy_with_no_violation(
    live_server, browser_context, desk
):
    browser_context.add_init_script(RECORD)
    page = browser_context.new_page()
    reports: list[str] = []
    page.on(
        "console",
        lambda m: reports.append(m.text) if "Content Security Policy" in m.text else None,
    )
    sign_in(page, live_server, desk.anna)
    assert page.evaluate("typeof htmx") == "object"
    # The queue refreshes itself (htmx polling, no eval'd trigger filter).
    with page.expect_request(lambda r: r.headers.get("hx-target") == "queue"):
        page.wait_for_timeout(1500)
    page.click("text=New / unassigned")
    expect(page).to_have_url(f"{live_server.url}/tickets/?view=new")
    assert page.evaluate("window.cspViolations") == []

    for path in (f"/tickets/{desk.ticket.reference}/", "/shifts/", "/canned/", "/on-shift/"):
        answer = page.goto(f"{live_server.url}{path}")
        assert answer is not None
        assert "'nonce-" in answer.headers["content-security-policy"]
        expect(page.locator("main")).to_be_visible()
        assert page.evaluate("window.cspViolations") == [], path
    # The support form's inline script (its nonce) checks file sizes before an upload.
    page.goto(f"{live_server.url}/support/new/")
    expect(page.locator("form")).not_to_have_count(0)
    assert page.evaluate("window.cspViolations") == []
    assert reports == []
