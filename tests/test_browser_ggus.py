"""The GGUS bridge in Chromium: a shifter escalates to a site with "Also open a GGUS
ticket" ticked; a worker opens it at a fake GGUS on 127.0.0.1; the escalation shows its
GGUS number, and the site's answer read back by the poll is a note on the ticket."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from escalation.models import ExpertGroup, GroupKind
from grid.ggus import ggus_open, ggus_poll
from grid.models import GgusTicket
from tests.browser import sign_in
from tests.factories import MembershipFactory, MessageFactory, TeamFactory, TicketFactory
from tests.gridfakes import Answer, fixture

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker(monkeypatch):
    """ggus_open_task runs in a thread of this process, as a worker would after commit."""
    threads: list[threading.Thread] = []

    def delay(pk: int) -> None:
        def run() -> None:
            try:
                ggus_open(pk=pk)
            finally:
                connection.close()

        thread = threading.Thread(target=run, daemon=True)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr("grid.tasks.ggus_open_task.delay", delay)
    yield threads
    for thread in threads:
        thread.join(timeout=10)


def test_the_escalation_shows_its_ggus_number_and_the_mirrored_answer(
    live_server, browser_context, fake_grid, worker
):
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    shifter = MembershipFactory(team=team).user
    ExpertGroup.objects.create(
        team=team, kind=GroupKind.SITE, name="BNL-ATLAS", email="bnl-support@bnl.example.gov"
    )
    ticket = TicketFactory(team=team, subject="Transfers to BNL-ATLAS fail", assignee=shifter)
    MessageFactory(ticket=ticket, body_text="Transfers to BNL-OSG2_DATADISK fail since noon.")
    created = fixture("ggus_ticket_created.json")
    fake_grid.answer("/api/v1/tickets", Answer(created, 201))

    page = browser_context.new_page()
    sign_in(page, live_server, shifter, f"/tickets/{ticket.reference}/")
    form = page.locator("details.escalate-form")
    if form.get_attribute("open") is None:
        form.locator("summary").click()
    form.locator("#esc-group").select_option(label="BNL-ATLAS")
    form.locator("#esc-note").fill("Please check the transfers.")
    form.get_by_label("Also open a GGUS ticket").check()
    form.get_by_role("button", name="Escalate").click()
    expect(page.locator(".esc-head")).to_contain_text("BNL-ATLAS")
    for thread in worker:
        thread.join(timeout=10)
    row = GgusTicket.objects.get(escalation__ticket=ticket)
    assert row.number == "1000042"

    reference = row.reference.encode()
    fake_grid.answer(
        "/api/v1/tickets/4711",
        Answer(fixture("ggus_ticket_assigned.json").replace(b"dastdesk-REFERENCE", reference)),
    )
    fake_grid.answer(
        "/api/v1/ticket_articles/by_ticket/4711",
        Answer(fixture("ggus_articles.json").replace(b"dastdesk-REFERENCE", reference)),
    )
    GgusTicket.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    ggus_poll(pk=row.pk)  # the beat sweep's 15-minute read, now

    page.reload()
    bridge = page.locator(".esc-bridge")
    expect(bridge).to_have_text("GGUS #1000042 (assigned)")
    expect(bridge.locator("a")).to_have_attribute(
        "href", "https://helpdesk.ggus.eu/#ticket/zoom/4711"
    )
    expect(page.locator("body")).to_contain_text("John Hover (BNL) wrote")
    expect(page.locator("body")).to_contain_text("dcdoor12.usatlas.bnl.gov was restarted")
    page.close()
