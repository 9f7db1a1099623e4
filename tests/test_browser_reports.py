"""The reports page in Chromium: charts drawn, numbers linked to the queue, readable on a
phone. Screenshots go to $DAST_SCREENSHOTS when set."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlencode

import pytest
import time_machine
from playwright.sync_api import expect

from tests.browser import sign_in
from tests.test_reports import NOW, PERIOD, _data_set

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path(os.environ["DAST_SCREENSHOTS"]) if os.environ.get("DAST_SCREENSHOTS") else None
PATH = f"/reports/?{urlencode(PERIOD)}"  # a fixed period: the page does not read today


@pytest.fixture
def desk():
    with time_machine.travel(NOW, tick=False):
        return _data_set()


def test_a_coordinator_reads_the_figures_as_charts_and_tables(desk, live_server, browser_context):
    page = browser_context.new_page()
    sign_in(page, live_server, desk.people["elena"], PATH)
    chart = page.locator("#first_response svg[role=img]")
    expect(chart).to_be_visible()
    expect(chart.locator("title").first).to_have_text("First-response time in covered hours")
    row = page.locator("#first_response tbody tr").first
    expect(row).to_contain_text("11.0")
    expect(page.locator("#busiest_hours svg rect").first).to_be_visible()
    if SHOTS:
        page.screenshot(path=str(SHOTS / "reports.png"), full_page=False)
    # The count links to the queue with the same tickets.
    with page.expect_navigation():
        row.locator("a").first.click()
    assert "/tickets/?view=all" in page.url
    # The period as the team's days bound it (Zurich midnights), the 5 answered tickets.
    assert "opened_during=2026-03-15T23%3A00%3A00Z%2F2026-04-05T22%3A00%3A00Z" in page.url
    expect(page.locator("table.tickets tbody tr")).to_have_count(5)


def test_the_page_fits_a_phone(desk, live_server, browser_context):
    page = browser_context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, desk.people["elena"], PATH)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1  # tables scroll inside their own box, the page does not
    expect(page.locator("#volume_zones svg")).to_be_visible()
    if SHOTS:
        page.locator("#volume_zones").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "reports-phone.png"), full_page=False)


# The "Done when": each question a coordinator asks, the figure on the page that
# answers it, and a number in it the data set gives (tests/test_reports.py).
QUESTIONS = [
    ("How many mails per covered hour did NA get?", "volume_zones", "NA"),
    ("How long did users wait for a first answer per zone?", "first_response", "EU"),
    ("Which expert group answers slowest?", "escalations", "PanDA"),
    ("Which sites caused most tickets?", "incidents", "BNL"),
    ("How full was the calendar?", "coverage", "EU"),
    ("Who is above the shift optimum?", "credits", "Anna"),
]


def test_a_coordinator_answers_each_question_from_the_page_and_downloads_it(
    desk, live_server, browser_context
):
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, desk.people["elena"], PATH)
    for question, figure, shown in QUESTIONS:
        section = page.locator(f"#{figure}")
        expect(section.locator("h2"), question).to_be_visible()
        expect(section.locator("tbody"), question).to_contain_text(shown)
        with page.expect_download() as download:
            section.locator("caption a", has_text="CSV").click()
        path = download.value.path()
        text = Path(path).read_text(encoding="utf-8")
        assert shown in text, (question, text[:200])
    if SHOTS:
        for figure in ("volume_zones", "escalations", "incidents", "coverage"):
            page.locator(f"#{figure}").scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / f"reports-{figure}.png"), full_page=False)
