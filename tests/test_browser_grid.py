"""The grid panel in Chromium: a ticket about a queue in downtime shows the outage badge at
once, the page renders while BigPanDA is down, and the job's status fills in by itself once
the monitor answers; the queue marks the rows of tickets naming a site in outage."""

from __future__ import annotations

import os
import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from escalation.models import ExpertGroup, GroupKind
from grid.models import AliasKind, Downtime, ServiceHealth, Site, SiteAlias
from grid.services import statuses_fetch, tickets_mentions_index
from tests.browser import sign_in
from tests.factories import MembershipFactory, MessageFactory, TeamFactory, TicketFactory
from tests.gridfakes import Answer, fixture
from tests.test_desk_details import contrast
from tickets.models import OutboundMail
from tickets.models.mail import OutboundKind

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path(os.environ.get("DAST_SCREENSHOTS", "")) if os.environ.get("DAST_SCREENSHOTS") else None


@pytest.fixture
def worker(monkeypatch):
    """The Celery task runs in a thread of this process, as a worker would, later; every
    thread is waited for before the test database goes."""
    threads: list[threading.Thread] = []

    def delay(kind: str, numbers: list[int]) -> None:
        def run() -> None:
            try:
                statuses_fetch(kind=kind, numbers=numbers)
            finally:
                connection.close()

        thread = threading.Thread(target=run, daemon=True)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr("grid.tasks.statuses_fetch_task.delay", delay)
    yield
    for thread in threads:
        thread.join(timeout=10)


def fzk_in_outage(now, end, gocdb_id: int) -> None:  # type: ignore[no-untyped-def]
    """FZK-LCG2 (and its queue ANALY_FZK) in a scheduled outage from 4 hours ago to ``end``."""
    site = Site.objects.create(name="FZK-LCG2", gocdb_name="FZK-LCG2", cloud="DE", updated_at=now)
    SiteAlias.objects.create(name="ANALY_FZK", site=site, kind=AliasKind.QUEUE)
    SiteAlias.objects.create(name="FZK-LCG2", site=site, kind=AliasKind.GOCDB)
    Downtime.objects.create(
        key=f"{gocdb_id}G0",
        gocdb_site="FZK-LCG2",
        severity="OUTAGE",
        classification="SCHEDULED",
        description="dCache upgrade",
        start_at=now - timedelta(hours=4),
        end_at=end,
        url=f"https://goc.egi.eu/portal/index.php?Page_Type=Downtime&id={gocdb_id}",
        seen_at=now,
    )


def test_the_page_renders_while_the_monitor_is_down_and_fills_in_when_it_answers(
    live_server, browser_context, fake_grid, worker, settings
):
    settings.GRID_HTTP_RETRIES = 0
    settings.GRID_BREAKER_FAILURES = 100
    settings.GRID_PANEL_POLL_S = 1
    settings.GRID_PANEL_POLLS = 30
    now = timezone.now()  # the live server runs on the real clock: everything relative to it
    fzk_in_outage(now, now + timedelta(hours=20), 34567)
    ServiceHealth.objects.create(service="gocdb", last_success_at=now - timedelta(minutes=7))
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    shifter = MembershipFactory(team=team).user
    ticket = TicketFactory(team=team, subject="Jobs fail at ANALY_FZK")
    MessageFactory(ticket=ticket, body_text="My job PandaID=6520941449 failed at ANALY_FZK.")
    fake_grid.answer("/job", Answer(b"Service Unavailable", 503, "text/html"))

    page = browser_context.new_page()
    sign_in(page, live_server, shifter, f"/tickets/{ticket.reference}/")
    panel = page.locator("section.grid-status")
    expect(panel).to_contain_text("OUTAGE (scheduled)")
    expect(panel).to_contain_text("Downtime data 7 min old")
    expect(panel.locator("a", has_text="GOCDB ↗")).to_have_attribute(
        "href", "https://goc.egi.eu/portal/index.php?Page_Type=Downtime&id=34567"
    )
    expect(panel).to_contain_text("no answer yet: HTTP 503", timeout=10_000)
    expect(page.locator("h1")).to_be_visible()  # the page is there all along
    if SHOTS:
        page.screenshot(path=str(SHOTS / "grid-monitor-down.png"), full_page=True)

    fake_grid.answer("/job", Answer(fixture("bigpanda_job.json")))
    expect(panel.locator(".status-failed")).to_have_text("failed", timeout=15_000)
    expect(panel).to_contain_text("pilot 1305")
    if SHOTS:
        page.screenshot(path=str(SHOTS / "grid-monitor-answered.png"), full_page=True)
    page.close()  # no more polls while the fixtures wind down


def test_an_escalation_to_the_site_in_downtime_is_held_and_the_ticket_says_until_when(
    live_server, browser_context, fake_grid, worker
):
    now = timezone.now()  # the live server runs on the real clock: everything relative to it
    end = now + timedelta(hours=20)
    fzk_in_outage(now, end, 34568)
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    ExpertGroup.objects.create(
        team=team, kind=GroupKind.SITE, name="FZK-LCG2", email="site-support@example.org"
    )
    shifter = MembershipFactory(team=team).user
    ticket = TicketFactory(team=team, subject="Stage-in errors at ANALY_FZK")

    page = browser_context.new_page()
    sign_in(page, live_server, shifter, f"/tickets/{ticket.reference}/")
    expect(page.locator("section.grid-status")).to_contain_text("OUTAGE (scheduled)")
    form = page.locator("details.escalate-form form")
    form.locator("select[name=group]").select_option(label="FZK-LCG2")
    form.locator("textarea[name=note]").fill("Stage-in fails with SRM timeouts, please check.")
    form.locator("button", has_text="Escalate").click()
    expect(page.locator("body")).to_contain_text("held while the site is in a declared outage")
    expect(page.locator("body")).to_contain_text("Held: FZK-LCG2 is in a scheduled outage")
    mail = OutboundMail.objects.get(ticket=ticket, kind=OutboundKind.ESCALATION)
    assert mail.next_attempt_at == end  # sent when the outage ends, not now
    page.close()


def _colours(locator) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The element's computed text and background colours, as #rrggbb ("" if transparent)."""

    def hex_of(css: str) -> str:
        parts = [float(p) for p in re.findall(r"[\d.]+", css)]
        if len(parts) == 4 and parts[3] == 0:
            return ""
        return "#" + "".join(f"{round(p):02x}" for p in parts[:3])

    style = locator.evaluate(
        "e => { const s = getComputedStyle(e); return [s.color, s.backgroundColor]; }"
    )
    return hex_of(style[0]), hex_of(style[1])


def test_the_queue_marks_a_ticket_naming_a_site_in_outage_and_the_badges_are_readable(
    live_server, browser_context
):
    now = timezone.now()  # the live server runs on the real clock: everything relative to it
    end = (now + timedelta(hours=20)).replace(second=0, microsecond=0)
    fzk_in_outage(now, end, 34569)
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    shifter = MembershipFactory(team=team).user
    quiet = TicketFactory(team=team, subject="Cannot renew my grid certificate")
    down = TicketFactory(team=team, subject="Stage-in errors at ANALY_FZK since this morning")
    other = TicketFactory(team=team, subject="Rucio rule stuck for user.jdoe:out")
    tickets_mentions_index(tickets=[quiet, down, other])

    page = browser_context.new_page()
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, live_server, shifter, "/tickets/?view=all")
    row = page.locator("table.tickets tr", has=page.locator(f'input[value="{down.pk}"]'))
    icon = row.locator(".row-mark.mark-outage")
    expect(icon).to_be_visible()
    label = f"Site in downtime: ANALY_FZK (FZK-LCG2) until {end:%Y-%m-%d %H:%M} UTC"
    expect(icon).to_have_attribute("aria-label", label)
    expect(icon).to_have_attribute("title", label)
    expect(page.get_by_role("img", name=label)).to_have_count(1)  # what a screen reader finds
    expect(page.locator(".row-mark")).to_have_count(1)  # the other rows have none
    fg, bg = _colours(icon)
    assert bg, "the icon has a background of its own"
    assert contrast(fg, bg) >= 4.5
    if SHOTS:
        page.screenshot(path=str(SHOTS / "queue-site-in-downtime.png"))

    row.locator("td.subject a").click()
    badge = page.locator("section.grid-status .badge.badge-outage")
    expect(badge).to_have_text("OUTAGE (scheduled)")
    fg, bg = _colours(badge)
    assert bg, "the badge has a background of its own"
    assert contrast(fg, bg) >= 4.5
    if SHOTS:
        page.screenshot(path=str(SHOTS / "ticket-site-in-downtime.png"), full_page=True)
    page.close()
