"""The support request form in a real browser: opened pre-filled from a monitoring link,
filled in, sent, and answered with the ticket number; oversize files stopped before upload;
readable on a phone."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.factories import TeamFactory
from tickets.models import Attachment, Message, OutboundMail, Ticket
from tickets.models.mail import OutboundKind

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path(os.environ.get("DAST_SCREENSHOTS", "")) if os.environ.get("DAST_SCREENSHOTS") else None
LOG = b"2026-11-18 09:12:01 pilot: Payload failed: exit code 65\n"


def _form_url(live_server, **params: str) -> str:
    return f"{live_server.url}/support/new/?{urlencode({'team': 'dast', **params})}"


@pytest.fixture
def team():
    return TeamFactory(slug="dast", name="ATLAS DAST", ticket_prefix="DAST")


def test_a_user_sends_the_pre_filled_form_and_sees_the_ticket_number(
    live_server, browser_context, team
):
    page = browser_context.new_page()
    page.goto(
        _form_url(
            live_server,
            task="https://bigpanda.cern.ch/task/15934870/",
            site="ANALY_BNL",
            category="panda",
            subject="Task 15934870 exhausted",
        )
    )
    expect(page.locator("h1")).to_have_text("Ask ATLAS DAST for help")
    expect(page.locator("#id_task")).to_have_value("https://bigpanda.cern.ch/task/15934870/")
    expect(page.locator("#id_site")).to_have_value("ANALY_BNL")
    expect(page.locator("#id_category")).to_have_value("panda")
    expect(page.locator("#id_subject")).to_have_value("Task 15934870 exhausted")
    expect(page.locator("#id_homepage")).not_to_be_in_viewport()

    page.fill("#id_name", "Jane Doe")
    page.fill("#id_email", "jane.doe@cern.ch")
    page.fill("#id_description", "All jobs of my task fail after a few minutes since this morning.")
    page.fill("#id_error", "Payload failed: exit code 65")
    page.set_input_files(
        "#id_attachments", files=[{"name": "pilotlog.txt", "mimeType": "text/plain", "buffer": LOG}]
    )
    with page.expect_navigation():
        page.click("button[type=submit]")

    assert page.url == f"{live_server.url}/support/thanks/"
    ticket = Ticket.objects.get()
    expect(page.locator(".sf-ref")).to_have_text(ticket.reference)
    expect(page.locator(".sf-subject")).to_have_text("“Task 15934870 exhausted”")
    expect(page.locator(".sf-thanks")).to_contain_text("jane.doe@cern.ch")
    expect(page.locator(".sf-next")).to_contain_text(f"[{ticket.reference}]")
    body = Message.objects.get(ticket=ticket).body_text
    assert "JEDI task: 15934870\n" in body
    assert "Site/queue: ANALY_BNL\n" in body
    assert Attachment.objects.get(message__ticket=ticket).filename == "pilotlog.txt"
    assert OutboundMail.objects.filter(ticket=ticket, kind=OutboundKind.ACKNOWLEDGEMENT).exists()
    if SHOTS:
        page.screenshot(path=str(SHOTS / "support-thanks.png"), full_page=True)


def test_an_oversize_file_is_stopped_in_the_browser_naming_the_limit(
    live_server, browser_context, team, settings
):
    settings.MAIL_MAX_ATTACHMENT_BYTES = 1024 * 1024
    page = browser_context.new_page()
    page.goto(_form_url(live_server))
    for field, value in (
        ("#id_name", "Jane Doe"),
        ("#id_email", "jane.doe@cern.ch"),
        ("#id_subject", "Jobs fail"),
        ("#id_description", "They fail."),
    ):
        page.fill(field, value)
    big = {"name": "full.log", "mimeType": "text/plain", "buffer": b"x" * (1536 * 1024)}
    page.set_input_files("#id_attachments", files=[big])
    check = page.locator("#attachments-check")
    expect(check).to_be_visible()
    expect(check).to_have_text("“full.log” is 1.5 MB: the limit is 1 MB per file.")
    page.click("button[type=submit]")
    # The browser refuses to send the form: nothing was uploaded, nothing opened.
    assert page.url.startswith(_form_url(live_server))
    assert not Ticket.objects.exists()

    page.set_input_files("#id_attachments", files=[])
    expect(check).to_be_hidden()


def test_the_form_reads_on_a_phone_without_sideways_scrolling(live_server, browser_context, team):
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(_form_url(live_server, task="15934870"))
    name, email = page.locator("#id_name"), page.locator("#id_email")
    # On a laptop short fields sit side by side, and the "what happens next" box beside the form.
    assert name.bounding_box()["y"] == email.bounding_box()["y"]
    assert page.locator(".sf-aside").bounding_box()["x"] > name.bounding_box()["x"]
    if SHOTS:
        page.screenshot(path=str(SHOTS / "support-form.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert email.bounding_box()["y"] > name.bounding_box()["y"]
    assert page.locator("button[type=submit]").bounding_box()["height"] >= 40
    for field in ("#id_name", "#id_task", "#id_error", "#id_attachments"):
        box = page.locator(field).bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 390
    if SHOTS:
        page.screenshot(path=str(SHOTS / "support-form-phone.png"), full_page=True)
