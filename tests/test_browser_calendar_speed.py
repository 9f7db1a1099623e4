"""A coordinator fills next month from the rotation in one action, in a real browser
(issue #17): a line added on the rotation page, the preview naming the slot that conflicts,
one click to book the month; then two ticked red slots given to one shifter at once.
Screenshots go to $DAST_SCREENSHOTS when set.

The live server runs in real time: the month filled is next month, whose slots are all
ahead, and the days are computed from it."""

from __future__ import annotations

import os
import re
from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from people.models import Role
from shifts.models import Booking, RotationRule, ShiftRole, Zone
from tests.browser import sign_in
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path(os.environ["DAST_SCREENSHOTS"]) if os.environ.get("DAST_SCREENSHOTS") else None
UNCOVERED = re.compile(r"\buncovered\b")


def _next_month() -> date:
    today = timezone.now().astimezone(ZoneInfo("Europe/Zurich")).date()
    return (today.replace(day=28) + timedelta(days=4)).replace(day=1)


def _weekdays(first: date, isoweekday: int) -> list[date]:
    days = [first + timedelta(days=n) for n in range(31)]
    return [d for d in days if d.month == first.month and d.isoweekday() == isoweekday]


def _person(username: str, first: str, last: str, team, role: str):
    user = UserFactory(username=username, first_name=first, last_name=last)
    MembershipFactory(team=team, user=user, role=role)
    return user


def _submit(page: Page, button) -> None:
    with page.expect_navigation():
        button.click()


def test_a_coordinator_fills_a_month_from_the_rotation_in_one_action(live_server, browser_context):
    month = _next_month()
    team = TeamFactory(slug="dast", name="DAST", ticket_prefix="DAST")
    carla = _person("carla", "Carla", "Conti", team, Role.COORDINATOR)
    eu = Zone.objects.create(
        team=team, code="EU", name="Europe", starts_at=time(8), coordinator=carla
    )
    na = Zone.objects.create(team=team, code="NA", name="North America", starts_at=time(16))
    anna = _person("anna", "Anna", "Keller", team, Role.SHIFTER)
    sofia = _person("sofia", "Sofia", "Rossi", team, Role.SHIFTER)
    bob = _person("bob", "Bob", "Builder", team, Role.SHIFTER)
    RotationRule.objects.create(zone=na, person=sofia, role=ShiftRole.FIRST_LEVEL, weekdays="24")
    # Bob already holds the second Monday: the rotation must keep him.
    mondays = _weekdays(month, 1)
    Booking.objects.create(zone=eu, day=mondays[1], person=bob, role=ShiftRole.FIRST_LEVEL)

    page = browser_context.new_page()
    sign_in(page, live_server, carla, f"/shifts/rotation/?team=dast&month={month:%Y-%m}")
    # "Anna every Monday EU", added on the rotation page.
    page.select_option("#rule-form select[name=person]", label="Anna Keller")
    page.select_option("#rule-form select[name=zone]", value="EU")
    page.check("#rule-form input[name=weekdays][value='1']")
    _submit(page, page.get_by_role("button", name="Save the line"))
    expect(page.locator(".flash li.success")).to_have_text("Anna Keller is in the rotation.")
    expect(page.locator("table.rules tbody tr")).to_have_count(2)

    page.goto(f"{live_server.url}/shifts/?team=dast&month={month:%Y-%m}")
    expect(page.locator(f'td[data-zone="EU"][data-day="{mondays[0]}"]')).to_have_class(UNCOVERED)
    _submit(page, page.locator("#fill-rotation"))

    # The preview: every slot named, the conflict said, nothing booked yet.
    tuesdays_thursdays = _weekdays(month, 2) + _weekdays(month, 4)
    expected = len(mondays) - 1 + len(tuesdays_thursdays)
    expect(page.locator("h1")).to_have_text(f"Preview: the rotation onto {month:%B %Y}")
    expect(page.locator("tr.plan-new")).to_have_count(expected)
    conflict = page.locator("tr.plan-conflict")
    expect(conflict).to_have_count(1)
    expect(conflict).to_contain_text("conflict: Bob Builder already booked there, kept")
    expect(conflict).to_have_attribute("data-day", f"{mondays[1]}")
    assert Booking.objects.count() == 1
    if SHOTS:
        page.screenshot(path=str(SHOTS / "shift-rotation-preview.png"), full_page=True)

    _submit(page, page.locator("#apply-plan"))

    assert page.url == f"{live_server.url}/shifts/?team=dast&month={month:%Y-%m}"
    expect(page.locator(".flash li.success")).to_have_text(
        f"Booked {expected} slots from the rotation onto {month:%B %Y}; "
        "1 slot that conflicted kept as they were."
    )
    for day in mondays:
        cell = page.locator(f'td[data-zone="EU"][data-day="{day}"]')
        who = "Bob Builder" if day == mondays[1] else "Anna Keller"
        expect(cell.locator(".people .name")).to_have_text([who])
        expect(cell).not_to_have_class(UNCOVERED)
    for day in tuesdays_thursdays:
        expect(page.locator(f'td[data-zone="NA"][data-day="{day}"] .people .name')).to_have_text(
            ["Sofia Rossi"]
        )
    assert Booking.objects.filter(person=anna).count() == len(mondays) - 1
    assert Booking.objects.get(zone=eu, day=mondays[1]).person == bob

    # Two red Wednesdays ticked and given to Bob at once.
    wednesdays = _weekdays(month, 3)[:2]
    for day in wednesdays:
        page.check(f'td[data-zone="EU"][data-day="{day}"] input.tick')
    expect(page.locator("#assign-many [data-ticked]")).to_have_text("2 slots ticked")
    page.select_option("#assign-many select[name=person]", label="Bob Builder")
    _submit(page, page.get_by_role("button", name="to the ticked slots"))
    expect(page.locator(".flash li.success")).to_have_text("Bob Builder is booked on 2 slots.")
    for day in wednesdays:
        expect(page.locator(f'td[data-zone="EU"][data-day="{day}"] .people .name')).to_have_text(
            ["Bob Builder"]
        )
    assert set(
        Booking.objects.filter(person=bob, day__in=wednesdays).values_list("day", flat=True)
    ) == set(wednesdays)

    if SHOTS:
        page.screenshot(path=str(SHOTS / "shift-calendar-tools.png"), full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    # On a phone the tools stack and nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.locator("#fill-rotation")).to_be_visible()
    if SHOTS:
        page.screenshot(path=str(SHOTS / "shift-calendar-tools-phone.png"), full_page=False)
