"""The shifter's desk in Chromium: sign in, find the new ticket in the queue, answer it with
a canned answer, escalate it, close it; hostile mail HTML stays inert in a real browser."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from escalation.models import Escalation, ExpertGroup
from people.models import Role
from tests.browser import sign_in
from tests.factories import MailboxFactory, MembershipFactory, TeamFactory, UserFactory
from tickets.models import CannedAnswer, OutboundMail, Status, Ticket
from tickets.models.mail import OutboundKind
from tickets.services import Sender, ticket_open

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path(os.environ.get("DAST_SCREENSHOTS", "")) if os.environ.get("DAST_SCREENSHOTS") else None


@pytest.fixture
def desk():
    team = TeamFactory(slug="dast", name="ATLAS DAST", ticket_prefix="DAST")
    MailboxFactory(team=team)
    anna = UserFactory(username="anna", first_name="Anna", last_name="Keller")
    MembershipFactory(team=team, user=anna, role=Role.SHIFTER)
    ExpertGroup.objects.create(team=team, name="PanDA/JEDI", email="panda-support@cern.ch")
    CannedAnswer.objects.create(
        team=team,
        title="Lost heartbeat",
        category="panda",
        body="Lost heartbeat means the pilot stopped reporting; please retry the jobs.",
    )
    ticket = ticket_open(
        team=team,
        sender=Sender("jdoe@cern.ch", "Jane Doe"),
        subject="Jobs of task 15934870 lost heartbeat",
        body_text="All jobs of JEDI task 15934870 die with lost heartbeat at ANALY_BNL_SHORT.",
        category="panda",
        announce=False,
    )
    return type("Desk", (), {"team": team, "anna": anna, "ticket": ticket})


def test_a_shifter_finds_answers_escalates_and_closes_a_new_ticket(
    live_server, browser_context, desk
):
    page = browser_context.new_page()
    sign_in(page, live_server, desk.anna)
    page.click("text=New / unassigned")
    expect(page).to_have_url(f"{live_server.url}/tickets/?view=new")
    row = page.locator("table.tickets tbody tr", has_text="lost heartbeat")
    expect(row).to_have_count(1)
    with page.expect_navigation():
        row.locator("td.subject a").first.click()
    expect(page.locator("h1")).to_contain_text(desk.ticket.reference)
    expect(page.locator(".grid-panel")).to_contain_text("15934870")

    page.select_option("#canned", label="Lost heartbeat · PanDA / JEDI")
    box = page.locator("#reply-body")
    expect(box).to_have_value(
        "Lost heartbeat means the pilot stopped reporting; please retry the jobs."
    )
    box.fill(box.input_value() + "\nAnna")
    # From here on every action updates the page in place (htmx): the marker would be gone
    # after a reload.
    page.evaluate("window.sameDocument = true")
    page.click("text=Send reply")
    expect(page.locator(".flash")).to_contain_text("Reply sent to jdoe@cern.ch")
    reply = OutboundMail.objects.get(kind=OutboundKind.REPLY)
    assert reply.body_text.endswith("retry the jobs.\nAnna")
    assert CannedAnswer.objects.get().uses == 1

    if page.locator("details.escalate-form").get_attribute("open") is None:
        page.click("text=Escalate…")
    page.select_option("#esc-group", label="PanDA/JEDI")
    page.fill("#esc-note", "Is the JEDI retry limit reached?")
    page.click("button:text-is('Escalate')")
    expect(page.locator(".flash")).to_contain_text("Escalated to PanDA/JEDI")
    assert Escalation.objects.get().note == "Is the JEDI retry limit reached?"
    if SHOTS:
        page.screenshot(path=str(SHOTS / "desk-ticket-test.png"), full_page=True)

    page.select_option("select[name=status]", label="Closed")
    page.locator("form.fields", has=page.locator("select[name=status]")).locator("button").click()
    expect(page.locator(".side .status")).to_have_text("Closed")
    assert Ticket.objects.get(pk=desk.ticket.pk).status == Status.CLOSED
    assert page.evaluate("window.sameDocument") is True
    assert page.url.endswith(f"/tickets/{desk.ticket.reference}/")


def test_hostile_mail_html_stays_inert_in_the_browser(live_server, browser_context, desk):
    message = desk.ticket.messages.get()
    message.body_html = (
        '<p>Hello</p><img src="x" onerror="window.pwned=1"><script>window.pwned=2</script>'
        '<a href="javascript:window.pwned=3">click</a>'
    )
    message.save(update_fields=["body_html"])
    page = browser_context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, live_server, desk.anna)
    page.goto(f"{live_server.url}/tickets/{desk.ticket.reference}/")
    page.click("text=Formatted version")
    expect(page.locator(".body.html")).to_contain_text("Hello")
    page.locator(".body.html a", has_text="click").click()
    assert page.evaluate("window.pwned === undefined")
    assert page.locator(".body.html script").count() == 0
    assert page.locator(".body.html img[onerror]").count() == 0
    assert dialogs == []


def test_the_folded_history_opens_in_place_with_what_happened(live_server, browser_context, desk):
    from tickets.services.desk import ticket_update

    ticket_update(ticket=desk.ticket, category="site", by=desk.anna)
    page = browser_context.new_page()
    sign_in(page, live_server, desk.anna, f"/tickets/{desk.ticket.reference}/")
    page.evaluate("window.sameDocument = true")
    history = page.locator("details.history")
    expect(history.locator(".history-list")).to_have_count(0)
    history.locator("summary").click()
    lines = history.locator(".history-list li")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_contain_text("jdoe@cern.ch opened it on the web")
    expect(lines.nth(1)).to_contain_text(
        "Anna Keller changed the category from PanDA / JEDI to Site / service"
    )
    assert page.evaluate("window.sameDocument") is True
    assert page.locator("#flash").count() == 1
