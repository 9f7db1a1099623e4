"""The shifter's and coordinator's day in Chromium (issue #17's "done when"): a mail arrives
during the EU shift and Anna finds it in her queue; Tomas, her trainee, drafts the answer and
Anna approves it from "To approve", then escalates; the EU shift ends; the expert's answer
arrives during the NA shift and lands with Sofia, whose bell counts it while her page is
open; Carla, the coordinator, fills next month from the rotation in one action.

The whole process (the live server's thread included) runs on a clock stopped at the
instants of the story, moved by the test; Chromium keeps the real one, which only paces the
bell's polling. Mail comes in through the intake path the fetcher uses (stored raw, then
processed), and the event log's consumers run on commit as the worker would.
Screenshots go to $DAST_SCREENSHOTS when set."""

from __future__ import annotations

import os
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from dispatch.handover import handover_run
from escalation.addresses import escalation_address
from escalation.models import Escalation, ExpertGroup, GroupKind
from notifications.models import Kind, Notification
from people.models import Role, WorkingCalendar
from shifts.models import Booking, RotationRule, ShiftRole
from tests.browser import sign_in
from tests.factories import MailboxFactory, shift_team
from tests.mailfactory import make_mail
from tickets.mail.intake import raw_process, raw_store
from tickets.models import OutboundMail, Ticket
from tickets.models.mail import OutboundKind, RawSource

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.frozen_at(datetime(2026, 11, 18, 9, 30, tzinfo=ZoneInfo("Europe/Zurich"))),
]
SHOTS = Path(os.environ["DAST_SCREENSHOTS"]) if os.environ.get("DAST_SCREENSHOTS") else None
GENEVA = ZoneInfo("Europe/Zurich")
WEDNESDAY = date(2026, 11, 18)
DECEMBER = date(2026, 12, 1)
UNCOVERED = re.compile(r"\buncovered\b")


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(WEDNESDAY, time(hour, minute), tzinfo=GENEVA)


def _deliver(team, raw: bytes) -> None:
    """A mail as the fetcher hands it on: stored raw first, then processed."""
    raw_process(raw_store(team=team, raw=raw, source=RawSource.IMAP))


def _as(page: Page, live_server, user, path: str) -> None:
    """Sign out whoever used the browser before, and sign in as ``user``. The page is left
    first: a bell poll still in flight after the cookies went would be sent to the login
    page, which would give the browser a new CSRF cookie under the form's feet."""
    page.goto("about:blank")
    page.context.clear_cookies()
    sign_in(page, live_server, user, path)


def _submit(page: Page, button) -> None:
    with page.expect_navigation():
        button.click()


def _shot(page: Page, name: str) -> None:
    """``name``.png at desktop width (1280) and ``name``-phone.png at a phone's (390); on
    the phone nothing may scroll sideways (tables scroll inside their own box)."""
    if not SHOTS:
        return
    size = page.viewport_size
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=False)
    page.set_viewport_size(size)


def _days(first: date, isoweekdays: str) -> list[date]:
    days = [first + timedelta(days=n) for n in range(31)]
    return [d for d in days if d.month == first.month and str(d.isoweekday()) in isoweekdays]


@pytest.fixture
def team():
    team = shift_team(
        {
            "carla": Role.COORDINATOR,
            "anna": Role.SHIFTER,
            "sofia": Role.SHIFTER,
            "tomas": Role.TRAINEE,
        }
    )
    MailboxFactory(team=team)
    people = team.people
    for zone, name, role in (
        (team.eu, "anna", ShiftRole.FIRST_LEVEL),
        (team.eu, "tomas", ShiftRole.TRAINEE),
        (team.na, "sofia", ShiftRole.FIRST_LEVEL),
    ):
        Booking.objects.create(zone=zone, day=WEDNESDAY, person=people[name], role=role)
    ExpertGroup.objects.create(
        team=team, kind=GroupKind.EXPERT, name="PanDA/JEDI", email="panda-experts@cern.ch"
    )
    us = WorkingCalendar.objects.create(
        team=team,
        name="US cloud (New York)",
        starts_at=time(9),
        ends_at=time(17),
        time_zone="America/New_York",
        holidays="2026-11-26\n2026-12-25",
    )
    ExpertGroup.objects.create(
        team=team, kind=GroupKind.CLOUD, name="US", email="us-cloud@bnl.gov", calendar=us
    )
    # The standing rotation: Anna every Monday in EU, Sofia Tuesdays and Thursdays in NA.
    RotationRule.objects.create(
        zone=team.eu, person=people["anna"], role=ShiftRole.FIRST_LEVEL, weekdays="1"
    )
    RotationRule.objects.create(
        zone=team.na, person=people["sofia"], role=ShiftRole.FIRST_LEVEL, weekdays="24"
    )
    return team


def test_a_day_from_the_eu_shift_through_the_na_shift_to_next_months_calendar(
    live_server, browser_context, settings, team, frozen_clock
):
    settings.NOTIFICATION_POLL_S = 1
    people = team.people
    page = browser_context.new_page()

    # 09:30, EU shift: a user's mail arrives and is Anna's, with Tomas as her shadow.
    _deliver(
        team,
        make_mail(
            sender=("Jane Doe", "jdoe@cern.ch"),
            subject="Task 15934870 exhausted",
            body="All jobs of JEDI task 15934870 fail with lost heartbeat at ANALY_BNL_SHORT.",
        ),
    )
    ticket = Ticket.objects.get()
    _as(page, live_server, people["anna"], "/tickets/?view=mine")
    row = page.locator("table.tickets tbody tr", has_text="Task 15934870 exhausted")
    expect(row).to_have_count(1)
    expect(row.locator("td.assignee")).to_contain_text("Anna Doe")
    expect(row.locator("td.assignee")).to_contain_text("shadow Tomas Doe")
    expect(page.locator("#bell .bell-count")).to_have_text("1")  # the new ticket
    _shot(page, "day-queue")

    # 10:00: Tomas drafts the answer; it waits for Anna.
    frozen_clock.move_to(_at(10))
    _as(page, live_server, people["tomas"], f"/tickets/{ticket.reference}/")
    page.fill("#reply-body", "Dear Jane, please retry the task: the pilots were killed.")
    page.click("text=Send reply")
    expect(page.locator(".flash")).to_contain_text(
        "Your reply waits for the shifter you shadow to approve it."
    )
    assert not OutboundMail.objects.filter(kind=OutboundKind.REPLY).exists()

    # 10:15: Anna approves it from "To approve", then escalates to PanDA/JEDI.
    frozen_clock.move_to(_at(10, 15))
    _as(page, live_server, people["anna"], "/tickets/?view=to_approve")
    expect(page.locator("nav.tabs a", has_text="To approve").locator(".n")).to_have_text("1")
    row = page.locator("table.tickets tbody tr", has_text="Task 15934870 exhausted")
    expect(row.locator(".badge-draft")).to_have_text("draft to approve")
    _shot(page, "day-to-approve")
    _submit(page, row.locator("td.subject a").first)
    draft = page.locator("article.draft")
    expect(draft.locator("header")).to_contain_text("Tomas Doe")
    expect(draft.locator("textarea")).to_have_value(
        "Dear Jane, please retry the task: the pilots were killed."
    )
    draft.get_by_role("button", name="Approve and send").click()
    expect(page.locator(".flash")).to_contain_text("Draft approved and sent.")
    expect(page.locator("article.draft")).to_have_count(0)
    sent = OutboundMail.objects.get(kind=OutboundKind.REPLY)
    assert (sent.to, sent.body_text) == (
        "jdoe@cern.ch",
        "Dear Jane, please retry the task: the pilots were killed.",
    )
    if page.locator("details.escalate-form").get_attribute("open") is None:
        page.click("text=Escalate…")
    page.select_option("#esc-group", label="PanDA/JEDI")
    page.fill("#esc-note", "Were the pilots of task 15934870 killed by the batch system?")
    page.click("button:text-is('Escalate')")
    expect(page.locator(".flash")).to_contain_text("Escalated to PanDA/JEDI")
    escalation = Escalation.objects.get()
    page.goto(f"{live_server.url}/tickets/?view=new")
    expect(page.locator("nav.tabs a", has_text="To approve").locator(".n")).to_have_text("0")

    # 16:00: the EU shift ends and the NA shift starts (beat's handover sweep runs).
    frozen_clock.move_to(_at(16, 5))
    handover_run()
    _as(page, live_server, people["sofia"], "/tickets/?view=mine")
    page.goto(f"{live_server.url}/on-shift/")
    expect(page.locator(".zone-now strong")).to_have_text("NA")
    expect(page.locator(".people-now")).to_contain_text("Sofia Doe")
    page.goto(f"{live_server.url}/tickets/?view=mine")
    expect(page.locator("table.tickets tbody td.empty")).to_have_text("No tickets here.")
    expect(page.locator("#bell .bell-count")).to_have_count(0)

    # 18:40, the expert answers by replying to the escalation's address: the ticket follows
    # the shift to Sofia, whose open page counts it on the bell by itself.
    frozen_clock.move_to(_at(18, 40))
    _deliver(
        team,
        make_mail(
            sender=("PanDA experts", "panda-experts@cern.ch"),
            to=escalation_address(escalation),
            subject=f"Re: [{ticket.reference}] Task 15934870 exhausted",
            body="The pilots were killed by the batch system at BNL; a retry will do.",
        ),
    )
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.zone) == (people["sofia"], "NA")
    expect(page.locator("#bell .bell-count")).to_have_text("1", timeout=10_000)
    told = Notification.objects.get(user=people["sofia"])
    assert told.kind == Kind.EXPERT_REPLY
    assert not Notification.objects.filter(user=people["anna"], kind=Kind.EXPERT_REPLY).exists()
    page.click("#bell")
    page.wait_for_url(f"{live_server.url}/notifications/")
    item = page.locator(".notification-list li.unread")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(
        f"PanDA experts answered on {ticket.reference} “Task 15934870 exhausted”"
    )
    _shot(page, "day-notifications")
    with page.expect_navigation():
        item.locator("a").first.click()
    assert page.url.startswith(f"{live_server.url}/tickets/{ticket.reference}/")
    expect(page.locator(".side dd", has_text="Sofia Doe")).to_have_count(1)
    expect(page.locator(".thread")).to_contain_text("a retry will do")
    expect(page.locator("#bell .bell-count")).to_have_count(0)
    _shot(page, "day-ticket")

    # Carla fills December from the rotation: a preview, then one click.
    _as(page, live_server, people["carla"], f"/shifts/?team=dast&month={DECEMBER:%Y-%m}")
    mondays, tuesdays_thursdays = _days(DECEMBER, "1"), _days(DECEMBER, "24")
    first_monday = page.locator(f'td[data-zone="EU"][data-day="{mondays[0]}"]')
    expect(first_monday).to_have_class(UNCOVERED)
    _submit(page, page.locator("#fill-rotation"))
    expect(page.locator("h1")).to_have_text("Preview: the rotation onto December 2026")
    expect(page.locator("tr.plan-new")).to_have_count(len(mondays) + len(tuesdays_thursdays))
    assert not Booking.objects.filter(day__gte=DECEMBER).exists()
    _submit(page, page.locator("#apply-plan"))
    expect(page.locator(".flash li.success")).to_contain_text(
        f"Booked {len(mondays) + len(tuesdays_thursdays)} slots from the rotation onto"
        " December 2026"
    )
    for day in mondays:
        cell = page.locator(f'td[data-zone="EU"][data-day="{day}"]')
        expect(cell.locator(".people .name")).to_have_text(["Anna Doe"])
        expect(cell).not_to_have_class(UNCOVERED)
    for day in tuesdays_thursdays:
        cell = page.locator(f'td[data-zone="NA"][data-day="{day}"]')
        expect(cell.locator(".people .name")).to_have_text(["Sofia Doe"])
    _shot(page, "day-calendar-filled")

    # The working calendars: the US cloud counts its targets in New York's hours.
    page.goto(f"{live_server.url}/team/calendars/?team=dast")
    row = page.locator("table.calendars tbody tr", has_text="US cloud (New York)")
    expect(row).to_contain_text("America/New_York")
    expect(page.locator("select[name^=group-] option[selected]")).to_have_text(
        ["US cloud (New York)"]
    )
    _shot(page, "day-working-calendars")
