"""Figures of tickets and escalations from their rollups: response and resolution times in
covered hours, escalation waits in working hours, the backlog at each week's end, reopen
and merge rates, incidents per site and cloud; and the headline numbers. No queries."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings

from escalation.queue_filter import escalated_to_value
from people.names import display_name
from reports.aggregates import week_ends
from reports.figures_time import tickets_link, volume_totals
from reports.selectors import ReportData
from reports.tables import Chart, Column, Table, hours, percentile, ratio
from tickets.forms import instant_value, span_value
from tickets.models import Category

Link = Callable[..., str]
AGES = (("under_1d", "< 1 day", 1), ("d1_7", "1\u20137 days", 7), ("d7_30", "7\u201330 days", 30))
STATUSES = ("new", "open", "waiting_user", "waiting_expert")
# The time figures' groups -> the queue filter that lists a group's tickets (the rollup's
# zone and shifter, reports.queue_filter; the category is the ticket's own, as the rollup's)
GROUP_FILTERS = {"zone": "counted_zone", "category": "category", "shifter": "counted_shifter"}


def _timing_table(data: ReportData, link: Link, which: str) -> Table:
    first = which == "first_response"
    target = (
        settings.FIRST_RESPONSE_COVERED_HOURS if first else settings.REPORTS_RESOLUTION_TARGET_HOURS
    )
    field = "first_response_s" if first else "resolution_s"
    name = "First-response time" if first else "Resolution time"
    table = Table(
        which,
        f"{name} in covered hours",
        f"Tickets opened {data.period.label} (merged ones left out): "
        f"{'until the first answer' if first else 'until finally resolved'}, counting only the "
        f"zones' shift hours; within target: {target} covered hours.",
        [
            Column("by", "By"),
            Column("value", "Which"),
            Column("count", "Tickets", "tickets"),
            Column("p50_hours", "Median (p50)", "covered h"),
            Column("p90_hours", "p90", "covered h"),
            Column("within_target_pct", "Within target", "%"),
            Column("pending", "Not yet", "tickets"),
        ],
        chart=Chart("bar", "value", ("p50_hours", "p90_hours"), f"{name} (covered hours)"),
        counted_by=dict.fromkeys(("p50_hours", "p90_hours", "within_target_pct"), "count"),
    )
    groups = [
        (by, (value or "\u2014") if by == "zone" else value, timing)
        for (when, f, by, value), timing in data.counts.timings.items()
        if when == "now" and f == field and timing.tickets
    ]
    labels = dict(Category.choices)
    order = {"all": 0, "zone": 1, "category": 2, "shifter": 3}
    for by, value, timing in sorted(groups, key=lambda g: (order[g[0]], g[1])):
        shown = value or "all"
        if by == "category":
            shown = str(labels.get(value, value))
        elif by == "shifter":
            person = data.people.get(int(value))
            shown = display_name(person) if person else f"#{value}"
        table.rows.append(
            {
                "by": by,
                "value": shown,
                "count": timing.count,
                "p50_hours": hours(timing.p50),
                "p90_hours": hours(timing.p90),
                "within_target_pct": ratio(timing.within, timing.count),
                "pending": timing.tickets - timing.count,
            }
        )
        if by == "zone" and value == "\u2014":
            continue  # no zone to name in the queue
        extra: dict[str, Any] = {} if by == "all" else {GROUP_FILTERS[by]: value}
        done = "answered" if first else "resolved"
        n = len(table.rows) - 1
        counted = tickets_link(data, link, data.period, counted=done, **extra)
        for column in ("count", *table.counted_by):
            table.links[n, column] = counted
        table.links[n, "pending"] = tickets_link(
            data, link, data.period, counted=f"un{done}", **extra
        )
    return table


def first_response(data: ReportData, link: Link) -> Table:
    return _timing_table(data, link, "first_response")


def resolution(data: ReportData, link: Link) -> Table:
    return _timing_table(data, link, "resolution")


def _esc_row(
    name: str, kind: str, cloud: str, rows: list[dict[str, Any]], end: datetime
) -> dict[str, Any]:
    waits = [r["wait_s"] for r in rows if r["wait_s"] is not None]
    return {
        "name": name,
        "kind": kind,
        "cloud": cloud,
        "count": len(rows),
        "tickets": len({r["ticket_id"] for r in rows}),
        "answered": len(waits),
        "p50_hours": hours(percentile(waits, 50)),
        "p90_hours": hours(percentile(waits, 90)),
        "reminders": sum(r["reminders"] for r in rows),
        "next_levels": sum(r["next_levels"] for r in rows),
        "never_answered": sum(
            1
            for r in rows
            if r["cancelled_at"] is None and (r["answered_at"] is None or r["answered_at"] >= end)
        ),
    }


def _escalated_link(data: ReportData, link: Link, value: str) -> str:
    """The queue of the tickets escalated to ``value`` (escalation.queue_filter) in the
    period."""
    during = span_value(data.period.start(data.tz), data.period.end(data.tz))
    return link(escalated_to=value, escalated_during=during)


def escalations(data: ReportData, link: Link) -> Table:
    """Per expert group and per cloud (its own escalations and its sites')."""
    start, end = data.period.start(data.tz), data.period.end(data.tz)
    rows = [r for r in data.escalations if start <= r["escalated_at"] < end]
    table = Table(
        "escalations",
        "Escalations: waits for an answer in working hours",
        f"Escalated {data.period.label}: how many, how long the group took to answer (working "
        "hours), reminders and next-level escalations their timers sent, and how many were "
        "never answered by the period's end.",
        [
            Column("name", "Group"),
            Column("kind", "Kind"),
            Column("cloud", "Cloud"),
            Column("count", "Escalations", "escalations"),
            Column("tickets", "Tickets", "tickets"),
            Column("answered", "Answered", "escalations"),
            Column("p50_hours", "Median wait (p50)", "working h"),
            Column("p90_hours", "p90 wait", "working h"),
            Column("reminders", "Reminders", "mails"),
            Column("next_levels", "Next levels", "escalations"),
            Column("never_answered", "Never answered", "escalations"),
        ],
        chart=Chart("bar", "name", ("p50_hours", "p90_hours"), "Wait (working hours)"),
        counted_by=dict.fromkeys(("p50_hours", "p90_hours"), "tickets"),
    )
    by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_cloud: dict[str, list[dict[str, Any]]] = defaultdict(list)
    meta: dict[str, tuple[str, str]] = {}
    # Row name -> the queue filter's value for its tickets (none for a next level without
    # a group: no filter names it)
    targets: dict[str, str] = {}
    for r in rows:
        group = data.groups.get(r["group_id"]) if r["group_id"] else None
        cloud = data.groups.get(r["cloud_id"]) if r["cloud_id"] else None
        by_group[r["group_name"]].append(r)
        meta[r["group_name"]] = (r["group_kind"], cloud.name if cloud else "")
        if r["group_id"]:
            targets[r["group_name"]] = escalated_to_value(r["group_id"])
        whole = group if r["group_kind"] == "cloud" and group is not None else cloud
        if whole is not None:
            by_cloud[whole.name].append(r)
            targets[f"{whole.name} (whole cloud)"] = escalated_to_value(whole.pk, whole_cloud=True)
    for name, group_rows in sorted(by_group.items()):
        kind, cloud_name = meta[name]
        table.rows.append(_esc_row(name, kind, cloud_name, group_rows, end))
    for name, cloud_rows in sorted(by_cloud.items()):
        table.rows.append(_esc_row(f"{name} (whole cloud)", "cloud total", name, cloud_rows, end))
    for n, row in enumerate(table.rows):
        value = targets.get(str(row["name"]))
        if value:
            for column in ("tickets", "p50_hours", "p90_hours"):
                table.links[n, column] = _escalated_link(data, link, value)
    return table


def backlog(data: ReportData, link: Link) -> Table:
    """Open tickets at each week's end (Sunday 24:00, team time) by status and by age."""
    table = Table(
        "backlog",
        "Backlog at each week's end",
        "Tickets open at the end of each Sunday (team time), by status and by age.",
        [
            Column("week_end", "Week ending"),
            Column("total", "Open in all", "tickets"),
            *(Column(s, s.replace("_", " ").capitalize(), "tickets") for s in STATUSES),
            *(Column(key, label, "tickets") for key, label, _ in AGES),
            Column("d30_plus", "> 30 days", "tickets"),
        ],
        chart=Chart("bar", "week_end", ("under_1d", "d1_7", "d7_30", "d30_plus"), "Open tickets"),
    )
    keys = ("total", *STATUSES, *(k for k, _, _ in AGES), "d30_plus")
    for day in week_ends(data.period):
        c = data.backlog.get(day, Counter())
        table.rows.append({"week_end": day.isoformat(), **{k: c[k] for k in keys}})
        # The instant the week ends: Monday 00:00, team time.
        at = instant_value(datetime.combine(day + timedelta(days=1), time(), tzinfo=data.tz))
        for key in keys:
            as_ = "" if key == "total" else key
            table.links[len(table.rows) - 1, key] = tickets_link(
                data, link, None, open_at=at, open_as=as_
            )
    return table


def rates(data: ReportData, link: Link) -> Table:
    table = Table(
        "rates",
        "Reopen and merge rates",
        "Of the tickets opened in each period: reopened at least once, merged into another.",
        [
            Column("period", "Period"),
            Column("opened", "Tickets opened", "tickets"),
            Column("reopened", "Reopened", "tickets"),
            Column("reopen_rate_pct", "Reopen rate", "%"),
            Column("merged", "Merged", "tickets"),
            Column("merge_rate_pct", "Merge rate", "%"),
        ],
        chart=Chart("bar", "period", ("reopen_rate_pct", "merge_rate_pct"), "Rate (%)"),
        counted_by={"reopen_rate_pct": "reopened", "merge_rate_pct": "merged"},
    )
    for which, period in (("now", data.period), ("before", data.previous)):
        opened, reopened, merged = data.counts.rates.get(which, (0, 0, 0))
        table.rows.append(
            {
                "period": period.label,
                "opened": opened,
                "reopened": reopened,
                "reopen_rate_pct": ratio(reopened, opened),
                "merged": merged,
                "merge_rate_pct": ratio(merged, opened),
            }
        )
        n = len(table.rows) - 1
        table.links[n, "opened"] = tickets_link(data, link, period)
        for rate, column in table.counted_by.items():
            table.links[n, column] = tickets_link(data, link, period, counted=column)
            table.links[n, rate] = table.links[n, column]
    return table


def ticket_list(data: ReportData) -> Table:
    """One row per ticket opened in the period: what the other figures count, for a
    spreadsheet. CSV and API only (a year is thousands of rows)."""
    prefix = data.team.ticket_prefix
    table = Table(
        "tickets",
        "Tickets of the period",
        f"Every ticket opened {data.period.label}, with its figures.",
        [
            Column("ticket", "Ticket"),
            Column("opened_at", "Opened (UTC)"),
            Column("zone", "Zone"),
            Column("category", "Category"),
            Column("first_response_hours", "First answer", "covered h"),
            Column("resolution_hours", "Resolution", "covered h"),
            Column("reopened", "Reopened", "times"),
            Column("merged", "Merged"),
        ],
    )
    table.rows = [
        {
            "ticket": f"{prefix}-{t['ticket__number']}",
            "opened_at": t["opened_at"].isoformat(),
            "zone": t["zone"],
            "category": t["category"],
            "first_response_hours": hours(t["first_response_s"]),
            "resolution_hours": hours(t["resolution_s"]),
            "reopened": t["reopen_count"],
            "merged": "yes" if t["merged"] else "no",
        }
        for t in data.ticket_rows
    ]
    return table


def incidents(data: ReportData, link: Link) -> Table:
    """Tickets per site and cloud: those whose opening mail names the site (by any of its
    names: the rollup keeps the one the site directory resolves them to), and those
    escalated to the site or cloud."""
    start, end = data.period.start(data.tz), data.period.end(data.tz)
    naming = data.sites
    escalated: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    targets: dict[str, str] = {}  # name -> the queue filter's value (escalation.queue_filter)
    for r in data.escalations:
        if not start <= r["escalated_at"] < end or r["group_kind"] not in ("site", "cloud"):
            continue
        parent = data.groups.get(r["cloud_id"]) if r["cloud_id"] else None
        cloud_name = parent.name if parent else ""
        escalated[r["group_name"], r["group_kind"], cloud_name].add(r["ticket_id"])
        if r["group_id"]:
            whole = r["group_kind"] == "cloud"
            targets[r["group_name"]] = escalated_to_value(r["group_id"], whole_cloud=whole)
        if parent is not None:
            escalated[parent.name, "cloud", ""].add(r["ticket_id"])
            targets[parent.name] = escalated_to_value(parent.pk, whole_cloud=True)
    table = Table(
        "incidents",
        "Incidents per site and cloud",
        f"Tickets opened {data.period.label} whose first mail names a site (by any of its "
        "names: ATLAS site, GOCDB site, PanDA queue, storage endpoint), and tickets escalated "
        "to a site or cloud (a cloud counts its sites' too).",
        [
            Column("name", "Site or cloud"),
            Column("kind", "Kind"),
            Column("cloud", "Cloud"),
            Column("escalated", "Tickets escalated", "tickets"),
            Column("named", "Tickets naming it", "tickets"),
        ],
        chart=Chart("bar", "name", ("escalated", "named"), "Tickets"),
    )
    keys = set(escalated) | {(site, "named", "") for site in naming if naming[site]}
    merged: dict[str, dict[str, Any]] = {}
    for name, kind, cloud in keys:
        row = merged.setdefault(
            name, {"name": name, "kind": "", "cloud": "", "escalated": 0, "named": 0}
        )
        if kind != "named":
            row["kind"], row["cloud"] = kind, cloud or row["cloud"]
            row["escalated"] = len(escalated[name, kind, cloud])
        row["named"] = naming.get(name, 0)
    table.rows = sorted(merged.values(), key=lambda r: (-(r["escalated"] + r["named"]), r["name"]))[
        :40
    ]
    for n, row in enumerate(table.rows):
        name = str(row["name"])
        if row["escalated"] and name in targets:
            table.links[n, "escalated"] = _escalated_link(data, link, targets[name])
        if row["named"]:
            table.links[n, "named"] = tickets_link(data, link, data.period, names_site=name)
    return table


def headline(data: ReportData, now: dict[str, Table]) -> list[dict[str, Any]]:
    """The few numbers that head the page and the weekly mail, now and in the period before
    (``now``: the period's figures; the period before's numbers come from the same counts)."""

    def before(key: str, column: str) -> Any:
        if key == "volume_zones":
            mails, opened, rate, _ = volume_totals(data, "before")
            return {"mails_in": mails, "tickets_opened": opened, "mails_per_covered_hour": rate}[
                column
            ]
        if key == "backlog":
            ends = week_ends(data.previous)
            return data.backlog.get(ends[-1], Counter())["total"] if ends else None
        timing = data.counts.timings.get(("before", f"{key}_s", "all", ""))
        return hours(timing.p50) if timing is not None and timing.tickets else None

    def pick(key: str, column: str) -> Any:
        table = now.get(key)
        if table is None or not table.rows:
            return None
        if key == "volume_zones":
            mails, opened, rate, _ = volume_totals(data, "now")
            return {"mails_in": mails, "tickets_opened": opened, "mails_per_covered_hour": rate}[
                column
            ]
        if key == "backlog":
            return table.rows[-1][column]
        return table.rows[0][column]  # the "all tickets" row

    wanted = [
        ("Mails in", "volume_zones", "mails_in", "mails"),
        ("Tickets opened", "volume_zones", "tickets_opened", "tickets"),
        ("Mails per covered hour", "volume_zones", "mails_per_covered_hour", "mails/h"),
        ("First answer, median", "first_response", "p50_hours", "covered h"),
        ("Resolution, median", "resolution", "p50_hours", "covered h"),
        ("Open at the last week's end", "backlog", "total", "tickets"),
    ]
    return [
        {"label": label, "now": pick(key, col), "before": before(key, col), "unit": unit}
        for label, key, col, unit in wanted
        if key in now
    ]
