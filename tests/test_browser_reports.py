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
    assert "opened_from=2026-03-16" in page.url


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
