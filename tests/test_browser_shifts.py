"""The shift calendar in a real browser (issue #4): coordinators assign, shifters book, release
and swap, and anyone reads who is on shift now.

The live server runs in real time, so the slots are picked relative to today: weekdays 10-20
days ahead, far beyond the release notice and never in the past.
"""

from __future__ import annotations

import os
import re
from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from people.models import Role
from shifts.models import Booking, Closure, ShiftRole, SwapRequest, SwapState, Zone
from tests.browser import sign_in
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path(os.environ.get("DAST_SCREENSHOTS", "")) if os.environ.get("DAST_SCREENSHOTS") else None

UNCOVERED = re.compile(r"\buncovered\b")
MINE = re.compile(r"\bmine\b")
CLOSED = re.compile(r"\bclosed\b")


def _today(tz: str = "Europe/Zurich") -> date:
    return timezone.now().astimezone(ZoneInfo(tz)).date()


def _weekdays_ahead() -> tuple[date, date]:
    """Two Monday-Friday days of one month, 10 to 20 days from today."""
    day = _today() + timedelta(days=10)
    while day.weekday() > 3 or (day + timedelta(days=1)).month != day.month:
        day += timedelta(days=1)
    return day, day + timedelta(days=1)


def _person(username: str, first: str, last: str, team, role: str):
    user = UserFactory(username=username, first_name=first, last_name=last)
    MembershipFactory(team=team, user=user, role=role)
    return user


def _desk(coordinator=None):
    team = TeamFactory(slug="dast", name="DAST", ticket_prefix="DAST")
    Zone.objects.create(
        team=team, code="EU", name="Europe", starts_at=time(8), coordinator=coordinator
    )
    Zone.objects.create(team=team, code="NA", name="North America", starts_at=time(16))
    return team


def _calendar_path(day: date) -> str:
    return f"/shifts/?team=dast&month={day:%Y-%m}"


def _submit(page: Page, button: Locator) -> None:
    """Click a button whose form posts and redirects, and wait for the page it lands on."""
    with page.expect_navigation():
        button.click()


def _cell(page: Page, zone: str, day: date) -> Locator:
    return page.locator(f'td[data-zone="{zone}"][data-day="{day:%Y-%m-%d}"]')


def test_a_coordinator_assigns_a_shifter_on_a_red_slot_and_removes_them_again(
    live_server, browser_context
):
    day, _ = _weekdays_ahead()
    team = TeamFactory(slug="dast", name="DAST", ticket_prefix="DAST")
    carla = _person("carla", "Carla", "Conti", team, Role.COORDINATOR)
    _desk(coordinator=carla)
    ada = _person("ada", "Ada", "Lovelace", team, Role.SHIFTER)
    page = browser_context.new_page()
    sign_in(page, live_server, carla, _calendar_path(day))

    cell = _cell(page, "EU", day)
    gaps = page.locator("#zone-EU .gap-count")
    expect(cell).to_have_class(UNCOVERED)
    expect(cell.locator(".why")).to_have_text("uncovered")
    gaps_before = int(gaps.inner_text().split()[0])
    cell.locator("details.assign summary").click()
    cell.locator("select[name=person]").select_option(f"{ada.pk}:first_level")
    _submit(page, cell.locator("details.assign button"))

    expect(page.locator(".flash li.success")).to_have_text(
        f"Ada Lovelace is booked on EU, {day:%A %d %B}."
    )
    expect(cell).not_to_have_class(UNCOVERED)
    expect(cell.locator(".people .name")).to_have_text(["Ada Lovelace"])
    expect(cell.locator(".why")).to_have_count(0)
    expect(gaps).to_have_text(f"{gaps_before - 1} uncovered")
    # The other zone's slot that day is still a gap.
    expect(_cell(page, "NA", day)).to_have_class(UNCOVERED)
    booking = Booking.objects.get(zone__code="EU", day=day)
    assert (booking.person, booking.role) == (ada, ShiftRole.FIRST_LEVEL)

    _submit(page, cell.locator(".people li", has_text="Ada Lovelace").locator("button.x"))

    expect(page.locator(".flash li.success")).to_have_text(
        f"Removed: Ada Lovelace, EU {day:%A %d %B}."
    )
    expect(cell).to_have_class(UNCOVERED)
    expect(cell.locator(".people li")).to_have_count(0)
    expect(gaps).to_have_text(f"{gaps_before} uncovered")
    assert not Booking.objects.filter(day=day).exists()


def test_a_shifter_books_and_releases_an_open_slot_but_cannot_book_a_closed_day(
    live_server, browser_context
):
    day, closed_day = _weekdays_ahead()
    team = _desk()
    Closure.objects.create(
        team=team, starts_on=closed_day, ends_on=closed_day, reason="CERN annual closure"
    )
    bob = _person("bob", "Bob", "Builder", team, Role.SHIFTER)
    page = browser_context.new_page()
    sign_in(page, live_server, bob, _calendar_path(day))

    cell = _cell(page, "EU", day)
    expect(cell).to_have_class(UNCOVERED)
    _submit(page, cell.locator("button.book"))

    expect(page.locator(".flash li.success")).to_have_text(f"You are booked on EU, {day:%A %d %B}.")
    expect(cell).to_have_class(MINE)
    expect(cell).not_to_have_class(UNCOVERED)
    expect(cell.locator(".people .name")).to_have_text(["Bob Builder"])
    expect(cell.locator("button.book")).to_have_count(0)
    expect(cell.locator("a.swap")).to_have_count(1)
    assert Booking.objects.filter(zone__code="EU", day=day, person=bob).exists()

    # More than 48 hours ahead: the shifter releases it themselves.
    _submit(page, cell.locator(".people li", has_text="Bob Builder").locator("button.x"))

    expect(page.locator(".flash li.success")).to_have_text(
        f"Removed: Bob Builder, EU {day:%A %d %B}."
    )
    expect(cell).not_to_have_class(MINE)
    expect(cell).to_have_class(UNCOVERED)
    expect(cell.locator("button.book")).to_have_count(1)
    assert not Booking.objects.filter(person=bob).exists()

    # The closed day has no Book button, though open days around it do.
    closed = _cell(page, "EU", closed_day)
    expect(closed).to_have_class(CLOSED)
    expect(closed.locator(".why")).to_have_text("CERN annual closure")
    expect(page.locator("td.closed button.book")).to_have_count(0)
    assert page.locator("td.uncovered button.book").count() > 10

    # A booking forged in the page for the closed day is refused by the server.
    with page.expect_navigation():
        page.evaluate(
            """({zone, day}) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = "/shifts/book/";
                const fields = {
                    csrfmiddlewaretoken:
                        document.querySelector("input[name=csrfmiddlewaretoken]").value,
                    team: "dast", zone, day, role: "first_level",
                };
                for (const [name, value] of Object.entries(fields)) {
                    const input = document.createElement("input");
                    input.type = "hidden";
                    input.name = name;
                    input.value = value;
                    form.append(input);
                }
                document.body.append(form);
                form.submit();
            }""",
            {"zone": "EU", "day": f"{closed_day:%Y-%m-%d}"},
        )

    expect(page.locator(".flash li.error")).to_have_text(
        f"DAST is closed on {closed_day:%d %B %Y} (CERN annual closure)."
    )
    expect(page.locator(".flash li.success")).to_have_count(0)
    expect(_cell(page, "EU", closed_day).locator(".people")).to_have_count(0)
    assert not Booking.objects.filter(day=closed_day).exists()


def test_a_shifter_asks_another_to_swap_and_the_calendar_shows_the_other_after_they_accept(
    live_server, browser_context
):
    day, _ = _weekdays_ahead()
    team = _desk()
    ada = _person("ada", "Ada", "Lovelace", team, Role.SHIFTER)
    bob = _person("bob", "Bob", "Builder", team, Role.SHIFTER)
    booking = Booking.objects.create(
        zone=Zone.objects.get(code="EU"), day=day, person=ada, role=ShiftRole.FIRST_LEVEL
    )
    page = browser_context.new_page()
    sign_in(page, live_server, ada, _calendar_path(day))

    cell = _cell(page, "EU", day)
    expect(cell).to_have_class(MINE)
    with page.expect_navigation():
        cell.locator("a.swap").click()
    assert page.url == f"{live_server.url}/shifts/bookings/{booking.pk}/swap/"
    expect(page.locator("h1")).to_have_text(f"Swap your EU shift of {day:%A} {day.day} {day:%B}")
    page.select_option("#asked", label="Bob Builder")
    page.fill("#note", "conference that week")
    _submit(page, page.get_by_role("button", name="Send the request"))

    expect(page.locator(".flash li.success")).to_have_text("Swap request sent to Bob Builder.")
    request_line = page.locator("#swaps li")
    expect(request_line).to_contain_text("Ada Lovelace asks Bob Builder to take EU")
    expect(request_line.get_by_role("button", name="Withdraw")).to_have_count(1)
    expect(request_line.get_by_role("button", name="Accept")).to_have_count(0)
    # Nothing changes hands before Bob answers.
    expect(cell.locator(".people .name")).to_have_text(["Ada Lovelace"])

    # Bob, in a browser session of his own.
    bob_context = browser_context.browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        bob_page = bob_context.new_page()
        sign_in(bob_page, live_server, bob, _calendar_path(day))
        bob_line = bob_page.locator("#swaps li")
        expect(bob_line).to_contain_text("Ada Lovelace asks Bob Builder to take EU")
        expect(bob_line).to_contain_text("conference that week")
        expect(bob_line.locator(".swap-state")).to_have_text("Waiting for an answer")
        _submit(bob_page, bob_line.get_by_role("button", name="Accept"))

        expect(bob_page.locator(".flash li.success")).to_have_text("Swap request accepted.")
        bob_cell = _cell(bob_page, "EU", day)
        expect(bob_cell.locator(".people .name")).to_have_text(["Bob Builder"])
        expect(bob_cell).to_have_class(MINE)
        expect(bob_page.locator("#swaps li .swap-state")).to_have_text("Accepted")
    finally:
        bob_context.close()

    page.reload()
    expect(cell.locator(".people .name")).to_have_text(["Bob Builder"])
    expect(cell).not_to_have_class(MINE)
    expect(cell.locator("a.swap")).to_have_count(0)
    booking.refresh_from_db()
    assert booking.person == bob
    assert SwapRequest.objects.get().state == SwapState.ACCEPTED


def test_the_public_on_shift_page_needs_no_sign_in_and_shows_no_email_address(
    live_server, browser_context
):
    team = TeamFactory(slug="dast", name="DAST", ticket_prefix="DAST")
    carla = _person("carla", "Carla", "Conti", team, Role.COORDINATOR)
    ada = _person("ada", "Ada", "Lovelace", team, Role.SHIFTER)
    # Round the clock, every day: someone is on shift whenever the test runs.
    zone = Zone.objects.create(
        team=team,
        code="DAY",
        name="All day",
        starts_at=time(0),
        duration_minutes=24 * 60,
        weekdays="1234567",
        coordinator=carla,
    )
    today = _today(team.time_zone)
    for day in (today - timedelta(days=1), today):
        Booking.objects.create(zone=zone, day=day, person=ada, role=ShiftRole.FIRST_LEVEL)
    # Addresses the page could leak.
    for address in (ada.email, carla.email, team.support_address):
        assert "@" in address

    page = browser_context.new_page()
    page.goto(f"{live_server.url}/on-shift/")

    assert page.url == f"{live_server.url}/on-shift/"
    expect(page.locator("h1")).to_have_text("On shift now")
    board = page.locator("section.board")
    expect(board.locator("h2")).to_have_text("DAST")
    expect(board.locator(".people-now li")).to_have_text(["Ada Lovelace · First level"])
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert "@" not in page.inner_text("body")
    assert "@" not in page.title()
    expect(page.locator('a[href^="mailto:"]')).to_have_count(0)


def test_the_coordinators_month_grid_fits_the_desk_and_becomes_a_day_list_on_a_phone(
    live_server, browser_context
):
    day, closed_day = _weekdays_ahead()
    team = TeamFactory(slug="dast", name="DAST", ticket_prefix="DAST")
    carla = _person("carla", "Carla", "Conti", team, Role.COORDINATOR)
    _desk(coordinator=carla)
    people = [
        _person("ada", "Ada", "Lovelace", team, Role.SHIFTER),
        _person("bob", "Bob", "Builder", team, Role.SHIFTER),
        _person("grace", "Grace", "Hopper-Wolfenstein", team, Role.SHIFTER),
    ]
    tina = _person("tina", "Tina", "Trainee", team, Role.TRAINEE)
    Closure.objects.create(
        team=team, starts_on=closed_day, ends_on=closed_day, reason="CERN annual closure"
    )
    eu, na = Zone.objects.get(code="EU"), Zone.objects.get(code="NA")
    # Two of every three weekdays of the month booked, the zones and people taking turns.
    first = day.replace(day=1)
    month = [first + timedelta(days=n) for n in range(28)]
    booked = [d for d in month if d.day % 3 and d.weekday() < 5 and d not in (day, closed_day)]
    for n, slot_day in enumerate(booked):
        Booking.objects.create(
            zone=eu if n % 2 else na,
            day=slot_day,
            person=people[n % 3],
            role=ShiftRole.FIRST_LEVEL,
        )
    Booking.objects.create(zone=eu, day=day, person=people[2], role=ShiftRole.FIRST_LEVEL)
    Booking.objects.create(zone=na, day=day, person=people[0], role=ShiftRole.FIRST_LEVEL)
    Booking.objects.create(zone=eu, day=day, person=tina, role=ShiftRole.TRAINEE)

    page = browser_context.new_page()
    sign_in(page, live_server, carla, _calendar_path(day))

    for code in ("EU", "NA"):
        red = page.locator(f'td.uncovered[data-zone="{code}"]').count()
        expect(page.locator(f"#zone-{code} .gap-count")).to_have_text(f"{red} uncovered")
    cell = _cell(page, "EU", day)
    expect(cell.locator(".people .name")).to_have_text(["Grace Hopper-Wolfenstein", "Tina Trainee"])
    expect(cell.locator(".badge.t")).to_have_count(1)
    expect(cell.locator(".credit")).to_have_text("150%")
    # At desk width the whole month is in view, no sideways scrolling anywhere.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    wrap = page.locator(".grid-wrap").first
    assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth")
    if SHOTS:
        page.screenshot(path=str(SHOTS / "shift-calendar.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    # On a phone each zone is a list of its shift days: nothing scrolls sideways, weekends
    # are left out, and each day names its weekday.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth")
    expect(cell.locator(".wd")).to_be_visible()
    expect(cell.locator(".wd")).to_have_text(day.strftime("%A"))
    assert page.locator("td.off").first.is_hidden()
    remove = cell.locator("button.x").first
    assert remove.bounding_box()["height"] >= 32  # a finger can hit it
    expect(page.locator("h1")).to_be_in_viewport()
    if SHOTS:
        page.screenshot(path=str(SHOTS / "shift-calendar-phone.png"), full_page=True)
