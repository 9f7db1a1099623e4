"""In Chromium: the header's bell shows the unread count, follows new ones by itself, and
shows a browser notification for what arrives while the desk is open; the list behind it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from notifications.models import Kind, Notification
from people.models import Role
from tests.browser import sign_in
from tests.factories import MailboxFactory, MembershipFactory, TeamFactory, UserFactory
from tickets.models import TicketEvent
from tickets.services import Sender, ticket_open

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path(os.environ["DAST_SCREENSHOTS"]) if os.environ.get("DAST_SCREENSHOTS") else None
# Records what the page asks the browser to show, instead of showing it.
FAKE_NOTIFICATION = """
window.__shown = [];
window.Notification = function (title, options) { window.__shown.push(options.body); };
window.Notification.permission = "granted";
window.Notification.requestPermission = function () { return Promise.resolve("granted"); };
"""


def _tell(user, team, subject: str, kind: Kind, text: str) -> Notification:
    ticket = ticket_open(
        team=team,
        sender=Sender("jdoe@cern.ch", "Jane Doe"),
        subject=subject,
        body_text=".",
        announce=False,
    )
    event = TicketEvent.objects.filter(ticket=ticket).first()
    return Notification.objects.create(
        user=user, ticket=ticket, event=event, kind=kind, text=text, at=event.at
    )


def test_the_bell_shows_the_unread_count_and_new_ones_arrive_by_themselves(
    live_server, browser_context, settings
):
    settings.NOTIFICATION_POLL_S = 1
    team = TeamFactory(slug="dast", name="ATLAS DAST", ticket_prefix="DAST")
    MailboxFactory(team=team)
    anna = MembershipFactory(
        team=team,
        user=UserFactory(username="anna", first_name="Anna", last_name="Kowalska"),
        role=Role.SHIFTER,
    ).user
    _tell(
        anna,
        team,
        "Task 15934870 exhausted",
        Kind.NEW_TICKET,
        "New ticket DAST-1 “Task 15934870 exhausted” from Jane Doe",
    )
    read = _tell(
        anna,
        team,
        "Rucio rule stuck at BNL",
        Kind.REQUESTER_REPLY,
        "Jane Doe replied on DAST-2 “Rucio rule stuck at BNL”",
    )
    _tell(
        anna,
        team,
        "Jobs killed at ANALY_BNL",
        Kind.OVERDUE,
        "DAST-3 “Jobs killed at ANALY_BNL” is overdue",
    )
    Notification.objects.filter(pk=read.pk).update(read_at=read.at)

    browser_context.add_init_script(FAKE_NOTIFICATION)
    page = browser_context.new_page()
    sign_in(page, live_server, anna)
    expect(page.locator("#bell .bell-count")).to_have_text("2")
    # What was there before the page opened is not news.
    assert page.evaluate("window.__shown") == []

    _tell(
        anna,
        team,
        "Athena crash in release 24",
        Kind.NEW_TICKET,
        "New ticket DAST-4 “Athena crash in release 24” from Jane Doe",
    )
    expect(page.locator("#bell .bell-count")).to_have_text("3", timeout=5000)
    page.wait_for_function("window.__shown.length === 1", timeout=5000)
    assert page.evaluate("window.__shown") == [
        "New ticket DAST-4 “Athena crash in release 24” from Jane Doe"
    ]

    page.click("#bell")
    page.wait_for_url(f"{live_server.url}/notifications/")
    rows = page.locator(".notification-list li")
    assert rows.count() == 4
    assert page.locator(".notification-list li.unread").count() == 3
    if SHOTS:
        page.screenshot(path=str(SHOTS / "notifications.png"), full_page=False)
    page.click("text=DAST-3 “Jobs killed at ANALY_BNL” is overdue")
    page.wait_for_url(f"{live_server.url}/tickets/DAST-3/")
    expect(page.locator("#bell .bell-count")).to_have_text("2")


def test_typing_a_reply_tells_the_others_and_their_writing_shows_within_seconds(
    live_server, browser_context, settings
):
    from django.test import Client

    from tickets.presence import presence_note

    settings.PRESENCE_POLL_S = 1
    team = TeamFactory(slug="dast", name="ATLAS DAST", ticket_prefix="DAST")
    MailboxFactory(team=team)
    anna = MembershipFactory(
        team=team, user=UserFactory(username="anna", first_name="Anna"), role=Role.SHIFTER
    ).user
    sofia = MembershipFactory(
        team=team, user=UserFactory(username="sofia", first_name="Sofia"), role=Role.SHIFTER
    ).user
    ticket = ticket_open(
        team=team,
        sender=Sender("jdoe@cern.ch"),
        subject="Lost heartbeat",
        body_text=".",
        announce=False,
    )
    page = browser_context.new_page()
    sign_in(page, live_server, anna, path=f"/tickets/{ticket.reference}/")
    page.fill("#reply-body", "Dear Jane, the pilot")
    sofias = Client()
    sofias.force_login(sofia)
    for _ in range(50):  # the browser's request arrives on its own schedule
        shown = sofias.get(f"/tickets/{ticket.reference}/presence/").content.decode()
        if "Anna" in shown:
            break
        page.wait_for_timeout(100)
    assert "is replying to this ticket right now" in shown

    # Sofia keeps typing: each keystroke notes her again (a mark lost to Anna's page writing
    # at the same instant comes back with the next one, as the presence module says).
    for _ in range(10):
        presence_note(ticket_pk=ticket.pk, user=sofia)
        if "is replying" in page.locator("#presence").inner_text():
            break
        page.wait_for_timeout(1000)
    expect(page.locator("#presence")).to_contain_text(
        "is replying to this ticket right now", timeout=5000
    )
    expect(page.locator("#presence strong")).to_have_text(sofia.get_full_name())
