"""In Chromium: merging asks first (a "Cancel" merges nothing), and on a phone the ticket's
state and actions come before its thread."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from people.models import Role
from tests.browser import chromium, chromium_path, sign_in
from tests.conftest import need_server
from tests.factories import MailboxFactory, MembershipFactory, TeamFactory, UserFactory
from tickets.models import Ticket
from tickets.services import Sender, ticket_open

pytestmark = pytest.mark.django_db(transaction=True)


def _desk():
    team = TeamFactory(slug="dast", name="ATLAS DAST", ticket_prefix="DAST")
    MailboxFactory(team=team)
    anna = MembershipFactory(team=team, user=UserFactory(username="anna"), role=Role.SHIFTER).user
    tickets = [
        ticket_open(
            team=team,
            sender=Sender("jdoe@cern.ch", "Jane Doe"),
            subject=f"Task 1593487{n} lost heartbeat",
            body_text="All jobs die with lost heartbeat.\n" * 40,
            announce=False,
        )
        for n in range(2)
    ]
    return anna, tickets


def test_merging_from_the_ticket_page_asks_first(live_server, browser_context):
    anna, (older, newer) = _desk()
    page = browser_context.new_page()
    sign_in(page, live_server, anna, path=f"/tickets/{newer.reference}/")
    asked: list[str] = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.click("details.merge summary")
    page.fill("input[name=into]", older.reference)
    page.click("details.merge button")
    page.wait_for_timeout(300)
    assert asked
    assert "cannot be undone" in asked[0]
    assert Ticket.objects.get(pk=newer.pk).merged_into_id is None

    page.once("dialog", lambda d: answer(d, True))
    page.click("details.merge button")
    expect(page.locator(".flash")).to_contain_text(f"Merged into {older.reference}")
    assert Ticket.objects.get(pk=newer.pk).merged_into_id == older.pk


def test_the_bulk_merge_asks_first(live_server, browser_context):
    anna, (_older, _newer) = _desk()
    page = browser_context.new_page()
    sign_in(page, live_server, anna, path="/tickets/?view=all")
    asked: list[str] = []
    page.on("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    for box in page.locator("input[name=tickets]").all():
        box.check()
    page.select_option("select[name=action]", "merge")
    page.click("#bulk button[type=submit]")
    page.wait_for_timeout(300)
    assert len(asked) == 1
    assert Ticket.objects.filter(merged_into__isnull=False).count() == 0


def test_on_a_phone_the_state_and_actions_come_before_the_thread(live_server, monkeypatch):
    if chromium_path() is None:
        need_server("Chromium", "/usr/bin/chromium is missing")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    anna, (ticket, _) = _desk()
    with chromium(width=390, height=844) as context:
        page = context.new_page()
        sign_in(page, live_server, anna, path=f"/tickets/{ticket.reference}/")
        side = page.locator("aside.side").bounding_box()
        thread = page.locator("section.thread").bounding_box()
        assert side is not None
        assert thread is not None
        assert side["y"] < thread["y"]
        assert page.locator("aside.side dd").first.bounding_box()["y"] < 844  # first screen
        if os.environ.get("DAST_SCREENSHOTS"):
            page.screenshot(path=f"{os.environ['DAST_SCREENSHOTS']}/ticket-phone.png")
