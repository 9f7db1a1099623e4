"""One report: which figures a viewer gets, computed from one ReportData. Pure (no queries):
the page, the CSV, the API and the weekly mail all call ``report_tables``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from reports import figures, figures_time
from reports.selectors import ReportData
from reports.tables import Table

Link = Callable[..., str]
# Figure key -> (title for the picker, visible to shifters too)
FIGURES: dict[str, bool] = {
    "volume_zones": False,
    "volume": False,
    "busiest_hours": False,
    "first_response": True,
    "resolution": True,
    "escalations": False,
    "backlog": False,
    "rates": False,
    "coverage": False,
    "credits": True,
    "incidents": False,
    "tickets": False,
}
# Figures only downloaded (CSV, API), not drawn on the page.
DOWNLOAD_ONLY = ("tickets",)
# What each figure reads, so that the API asks the database for no more than it needs.
SECTIONS = {
    "volume_zones": ("mail",),
    "volume": ("mail",),
    "busiest_hours": ("mail",),
    "first_response": ("tickets",),
    "resolution": ("tickets",),
    "escalations": ("escalations",),
    "backlog": ("backlog",),
    "rates": ("tickets",),
    "coverage": ("calendar",),
    "credits": ("calendar",),
    "incidents": ("backlog", "escalations"),
    "tickets": ("ticket_rows",),
}


def figure_table(key: str, data: ReportData, link: Link, now: datetime) -> Table:
    match key:
        case "volume_zones":
            return figures_time.volume_zones(data, link)
        case "volume":
            return figures_time.volume_weeks(data, link)
        case "busiest_hours":
            return figures_time.busiest_hours(data)
        case "first_response":
            return figures.first_response(data, link)
        case "resolution":
            return figures.resolution(data, link)
        case "escalations":
            return figures.escalations(data, link)
        case "backlog":
            return figures.backlog(data, link)
        case "rates":
            return figures.rates(data, link)
        case "coverage":
            return figures_time.coverage(data)
        case "credits":
            return figures_time.credits(data, now)
        case "incidents":
            return figures.incidents(data, link)
        case "tickets":
            return figures.ticket_list(data)
    raise KeyError(key)


def report_tables(
    data: ReportData, link: Link, now: datetime, *, coordinator: bool, only: str = ""
) -> dict[str, Table]:
    keys = [k for k, shifters in FIGURES.items() if coordinator or shifters]
    keys = [k for k in keys if k == only] if only else [k for k in keys if k not in DOWNLOAD_ONLY]
    return {key: figure_table(key, data, link, now) for key in keys}


def report_headline(
    data: ReportData,
    link: Link,
    now: datetime,
    *,
    coordinator: bool,
    tables: dict[str, Table] | None = None,
) -> list[dict[str, Any]]:
    """The headline numbers of the period and of the one before (from the same data;
    ``tables``: the period's figures when the caller has them already)."""
    keys = ("volume_zones", "first_response", "resolution", "backlog")
    allowed = [k for k in keys if coordinator or FIGURES[k]]
    have = tables or {}
    return figures.headline(
        data, {k: have[k] if k in have else figure_table(k, data, link, now) for k in allowed}
    )
