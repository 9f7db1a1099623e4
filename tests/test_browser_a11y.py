"""WCAG 2.1 AA in Chromium, checked by axe-core (issue #17): every main page of every role —
the shifter's queue, ticket (thread, escalation, grid panel), notifications and settings;
the coordinator's calendar with the rotation tools, working calendars and reports; the
requester's support form and ticket page; the sign-in page and a 404 — at desktop (1280)
and phone (390) widths, has no violation of the WCAG A/AA rules.

axe-core comes from npm (package-lock.json; `make test` runs `npm ci`). It is evaluated in
the page through the DevTools protocol, which the pages' Content-Security-Policy does not
govern: no <script> tag is added and the policy stays on."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from escalation.models import ExpertGroup, GroupKind
from escalation.services import escalation_create
from grid.models import ServiceHealth
from grid.services import tickets_mentions_index
from notifications.models import Kind, Notification
from people.models import Role
from shifts.models import RotationRule, ShiftRole
from tests.browser import sign_in
from tests.factories import MailboxFactory, MessageFactory, shift_team
from tests.servers import IN_CI
from tests.test_browser_grid import fzk_in_outage
from tests.test_reports import PERIOD, _data_set
from tickets.models import MessageKind, OutboundMail, TicketEvent
from tickets.services import Sender, ticket_open

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390)
# The WCAG 2.0 and 2.1 rules of levels A and AA; axe's best practices are not asked.
RUN = """async () => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
  });
  return results.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
}"""
# What axe leaves "to review" (aria-valid-attr-value) but is plainly wrong: an
# aria-describedby or aria-labelledby naming an id that is not on the page.
DANGLING = """() => [...document.querySelectorAll("[aria-describedby], [aria-labelledby]")]
  .flatMap(e => ["aria-describedby", "aria-labelledby"].flatMap(a =>
    (e.getAttribute(a) || "").split(/\\s+/).filter(id => id && !document.getElementById(id))
      .map(id => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""} ${a}="${id}"`)))"""
LINK = re.compile(r"(https?://\S+/my/signin/[A-Za-z0-9_-]+/)")


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        message = f"{AXE} is missing: run npm ci (make test does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text()


@pytest.fixture(autouse=True)
def own_cache(settings, request):
    """The requester's sign-in counts against rate limits kept in the cache."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"browser-a11y-{request.node.name}",
        }
    }


def _violations(page, axe_source: str) -> list[dict]:  # type: ignore[no-untyped-def]
    # The forms folded in <details> (escalate, merge, …) are audited too.
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    return page.evaluate(RUN)


def _audit(page, axe_source: str, live_server, pages: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Every page (path: a selector of what it must show, so that the right page with its
    parts is audited) at every width; one failure naming every violation on every page."""
    found: list[str] = []
    for path, shows in pages.items():
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            for selector in shows.split(", "):
                expect(page.locator(selector).first).to_be_attached()
            for v in _violations(page, axe_source):
                found.append(f"{path} at {width}px: {v['id']} ({v['impact']}): {v['help']}")
                for node in v["nodes"]:
                    summary = " ".join((node["summary"] or "").split())
                    found.append(f"    {node['target']}: {summary}")
            for dangling in page.evaluate(DANGLING):
                found.append(f"{path} at {width}px: names an id not on the page: {dangling}")
    assert not found, "axe-core found WCAG A/AA violations:\n" + "\n".join(found)


def _notify(user, ticket, text: str) -> None:  # type: ignore[no-untyped-def]
    event = TicketEvent.objects.filter(ticket=ticket).first()
    assert event is not None
    Notification.objects.create(
        user=user, ticket=ticket, event=event, kind=Kind.EXPERT_REPLY, text=text, at=event.at
    )


def test_the_shifters_pages_pass_the_wcag_aa_rules(live_server, browser_context, axe_source):
    now = timezone.now()  # the live server runs on the real clock
    fzk_in_outage(now, now + timedelta(hours=20), 34570)
    ServiceHealth.objects.create(service="gocdb", last_success_at=now - timedelta(minutes=7))
    team = shift_team({"anna": Role.SHIFTER, "carla": Role.COORDINATOR})
    MailboxFactory(team=team)
    anna = team.people["anna"]
    group = ExpertGroup.objects.create(
        team=team, kind=GroupKind.EXPERT, name="Storage experts", email="ddm@cern.ch"
    )
    ticket = ticket_open(
        team=team,
        sender=Sender("jdoe@cern.ch", "Jane Doe"),
        subject="Stage-in errors at ANALY_FZK since this morning",
        body_text="All jobs of task 15934870 at ANALY_FZK fail at stage-in with SRM timeouts.",
        category="panda",
        announce=False,
    )
    MessageFactory(
        ticket=ticket,
        kind=MessageKind.NOTE,
        sender_name="Anna Doe",
        sender_email="anna@cern.ch",
        body_text="FZK is in a downtime; asking the storage experts.",
    )
    escalation_create(ticket=ticket, by=anna, note="Is the dCache upgrade on time?", group=group)
    tickets_mentions_index(tickets=[ticket])
    _notify(anna, ticket, "Storage experts answered")

    page = browser_context.new_page()
    sign_in(page, live_server, anna, "/tickets/?view=all")
    _audit(
        page,
        axe_source,
        live_server,
        {
            "/tickets/?view=all": "table.tickets tbody tr .row-mark",
            f"/tickets/{ticket.reference}/": (
                "section.thread article, section.escalations .esc, section.grid-status .badge,"
                " section.grid-panel a"
            ),
            "/notifications/": ".notification-list li.unread",
            "/notifications/settings/": "form.preferences",
        },
    )


def test_the_coordinators_pages_pass_the_wcag_aa_rules(live_server, browser_context, axe_source):
    desk = _data_set()
    page = browser_context.new_page()
    period = "&".join(f"{k}={v}" for k, v in PERIOD.items())
    RotationRule.objects.create(
        zone=desk.eu, person=desk.people["anna"], role=ShiftRole.FIRST_LEVEL, weekdays="1"
    )
    sign_in(page, live_server, desk.people["elena"], "/shifts/?team=dast&month=2026-03")
    # The rotation onto a month to come (the live server runs on the real clock).
    later = timezone.localdate().replace(day=1) + timedelta(days=40)
    page.goto(f"{live_server.url}/shifts/?team=dast&month={later:%Y-%m}")
    with page.expect_navigation():
        page.click("#fill-rotation")
    preview = page.url.removeprefix(live_server.url)
    _audit(
        page,
        axe_source,
        live_server,
        {
            "/shifts/?team=dast&month=2026-03": "td[data-zone=EU][data-day], #fill-rotation",
            preview: "tr.plan-new, #apply-plan",
            "/shifts/rotation/?team=dast": "#rule-form",
            "/team/calendars/?team=dast": "table.calendars",
            f"/reports/?{period}": "figure.chart svg, table.data tbody tr",
        },
    )


def test_the_requesters_pages_pass_the_wcag_aa_rules(
    live_server, browser_context, axe_source, settings
):
    settings.SITE_URL = live_server.url
    team = shift_team({"anna": Role.SHIFTER})
    MailboxFactory(team=team)
    ticket = ticket_open(
        team=team,
        sender=Sender("jane.doe@cern.ch", "Jane Doe"),
        subject="Jobs stuck in activated state for 8 days",
        body_text="The jobs of my task 31357747 never start.",
        announce=False,
    )
    MessageFactory(
        ticket=ticket,
        kind=MessageKind.EMAIL_OUT,
        sender_name="Anna Doe",
        sender_email="anna@cern.ch",
        body_text="ANALY_AGLT2 was offline for a downtime. Does it work now?",
    )
    page = browser_context.new_page()
    _audit(
        page,
        axe_source,
        live_server,
        {"/support/new/?team=dast": "#id_description", "/my/": "input[name=email]"},
    )
    page.fill("input[name=email]", "jane.doe@cern.ch")
    with page.expect_navigation():
        page.click("text=E-mail me a sign-in link")
    mail = OutboundMail.objects.get(to="jane.doe@cern.ch")
    link = LINK.search(mail.body_text).group(1)  # type: ignore[union-attr]
    page.goto(link)
    with page.expect_navigation():
        page.click("button:has-text('Sign in')")
    _audit(
        page,
        axe_source,
        live_server,
        {"/my/": ".rq-item", f"/my/tickets/{ticket.reference}/": ".rq-msg, textarea[name=body]"},
    )


def test_the_sign_in_page_and_a_missing_page_pass_the_wcag_aa_rules(
    live_server, browser_context, axe_source
):
    page = browser_context.new_page()
    _audit(page, axe_source, live_server, {"/login/": "#id_username", "/no-such-page/": "h1"})
