"""The requester's page in a real browser (issue #6): ask for a link, open it from the mail,
sign in, read the thread and reply."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.factories import MessageFactory, RequesterFactory, TeamFactory, TicketFactory
from tickets.models import MessageKind, OutboundMail, Status

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path(os.environ.get("DAST_SCREENSHOTS", "")) if os.environ.get("DAST_SCREENSHOTS") else None
LINK = re.compile(r"(https?://\S+/my/signin/[A-Za-z0-9_-]+/)")


@pytest.fixture(autouse=True)
def own_cache(settings, request):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"browser-requester-{request.node.name}",
        }
    }


def test_a_requester_signs_in_by_the_mailed_link_and_replies(
    live_server, browser_context, settings
):
    settings.SITE_URL = live_server.url
    team = TeamFactory(slug="dast", ticket_prefix="DAST", name="ATLAS DAST")
    guillaume = RequesterFactory(email="guillaume.chevalier@cern.ch", name="Guillaume Chevalier")
    ticket = TicketFactory(
        team=team,
        number=41,
        requester=guillaume,
        subject="jobs stuck in activated state for 8 days",
        status=Status.WAITING_ON_USER,
    )
    MessageFactory(ticket=ticket, body_text="The jobs of my task 31357747 never start.")
    MessageFactory(
        ticket=ticket,
        kind=MessageKind.EMAIL_OUT,
        sender_name="Pierre Martin",
        sender_email="pierre@cern.ch",
        body_text="ANALY_AGLT2_SL6 was offline for a downtime. Does it work now?",
    )
    MessageFactory(ticket=ticket, kind=MessageKind.NOTE, body_text="Internal: AGLT2 downtime")
    other = TicketFactory(team=team, number=42, subject="Someone else's request")

    page = browser_context.new_page()
    page.goto(f"{live_server.url}/my/")
    page.fill("input[name=email]", "Guillaume.Chevalier@cern.ch")
    with page.expect_navigation():
        page.click("text=E-mail me a sign-in link")
    expect(page.locator("h1")).to_have_text("Check your mail")

    mail = OutboundMail.objects.get(to="guillaume.chevalier@cern.ch")
    link = LINK.search(mail.body_text).group(1)  # type: ignore[union-attr]
    page.goto(link)
    with page.expect_navigation():
        page.click("button:has-text('Sign in')")
    assert page.url == f"{live_server.url}/my/"
    expect(page.locator(".rq-who")).to_contain_text("guillaume.chevalier@cern.ch")
    expect(page.locator(".rq-item")).to_have_count(1)
    assert "Someone else" not in page.content()

    with page.expect_navigation():
        page.click("text=jobs stuck in activated state for 8 days")
    assert page.url == f"{live_server.url}/my/tickets/DAST-41/"
    expect(page.locator(".rq-msg")).to_have_count(2)
    assert "Internal: AGLT2" not in page.content()
    page.fill("textarea[name=body]", "Yes, all jobs run now. Thank you!")
    with page.expect_navigation():
        page.click("text=Send reply")
    last = page.locator(".rq-msg").last
    expect(last).to_contain_text("Yes, all jobs run now. Thank you!")
    expect(last.locator("header strong")).to_have_text("You")
    expect(page.locator(".flash")).to_contain_text("Your reply was added to DAST-41")
    expect(page.locator(".rq-status")).to_have_text("In progress")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.messages.filter(kind=MessageKind.WEB).count() == 1

    if SHOTS:
        page.screenshot(path=str(SHOTS / "requester-page-test.png"), full_page=True)

    # Someone else's request is not found, even by its address.
    response = page.goto(f"{live_server.url}/my/tickets/{other.reference}/")
    assert response is not None
    assert response.status == 404
    # The link was used up: in a browser without the session it signs nobody in.
    browser_context.clear_cookies()
    page.goto(link)
    with page.expect_navigation():
        page.click("button:has-text('Sign in')")
    expect(page.locator(".error")).to_contain_text("expired or was used")
