"""The grid app's part of the ticket page: the downtime badges of the sites the ticket
names (from the stored feed), and the job and task status fragment that the page loads
with htmx after it is shown. Neither calls a grid service: a fragment that finds a status
missing or stale asks a worker to fetch it, and asks again a little later."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone

from grid.models import DidStatus, GridStatus, Service, ServiceHealth, StatusKind
from grid.rucio import did_split, rucio_configured
from grid.selectors import (
    SiteDowntimes,
    did_is_fresh,
    did_statuses,
    downtimes_for_names,
    health,
    is_fresh,
    outages_named_by,
    statuses,
)
from tickets.gridpanel import SHOWN_PER_KIND, ticket_grid_ids
from tickets.models import Ticket
from tickets.rowmarks import RowMark
from tickets.selectors import ticket_get_for_user

log = logging.getLogger(__name__)


def panel(request: HttpRequest, ticket: Ticket) -> str:
    """Downtimes of the sites and queues named in the thread, and a place for the job and
    task status that fills itself in."""
    ids = ticket_grid_ids(ticket)
    names = [*ids.queues, *ids.sites]
    has_status = bool(ids.jobs or ids.tasks or (ids.datasets and rucio_configured()))
    if not names and not has_status:
        return ""
    now = timezone.now()
    sites = [s for s in downtimes_for_names(names, now) if s.ongoing or s.upcoming]
    gocdb = health(Service.GOCDB) if names else None
    return render_to_string(
        "grid/panel.html",
        {
            "ticket": ticket,
            "sites": sites,
            "suggested": _suggested_answer(sites),
            "gocdb": gocdb,
            "data_age": _age(gocdb.last_success_at, now) if gocdb and gocdb.last_success_at else "",
            "names": names,
            "has_status": has_status,
        },
        request=request,
    )


def _age(then: datetime, now: datetime) -> str:
    minutes = max(0, int((now - then).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // 1440} days"


def _suggested_answer(sites: list[SiteDowntimes]) -> str:
    down = [(s, s.outage) for s in sites if s.outage is not None]
    if not down:
        return ""
    lines = []
    for site, outage in down:
        assert outage is not None
        named = ", ".join(site.named_as)
        lines.append(
            f"{named} ({site.site.name}) is in a {outage.get_classification_display()} "
            f"outage declared in GOCDB until {outage.end_at:%a %d %b %H:%M} UTC"
            + (f": {outage.description}" if outage.description else ".")
            + (f"\n{outage.url}" if outage.url else "")
        )
    sites_text = ",".join(s.site.name for s, _ in down)
    return (
        "Dear user,\n\n"
        + "\n".join(lines)
        + "\n\nJobs there wait or fail until it is back. You can resubmit or retry now "
        f"while excluding it (e.g. --excludedSite={sites_text}), or wait for the end of the "
        "downtime and retry the failed jobs.\n"
    )


# --- the queue's rows ------------------------------------------------------------------------


def queue_marks(tickets: Sequence[Ticket], at: datetime) -> dict[int, list[RowMark]]:
    """The icon on the queue's rows of tickets that name a site in a declared outage (from
    the stored mentions and feed: two queries for the page, nothing asked outside)."""
    marks = {}
    for pk, outages in outages_named_by([t.pk for t in tickets], at).items():
        parts = []
        for o in outages:
            site = "" if o.named_as == o.site.upper() else f" ({o.site})"
            parts.append(f"{o.named_as}{site} until {o.until.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
        label = "Site in downtime: " + "; ".join(parts)
        marks[pk] = [RowMark(css="mark-outage", label=label, text="\u26a0\ufe0e site down")]
    return marks


# --- the job and task status fragment -------------------------------------------------------


@dataclass(frozen=True)
class StatusLine:
    kind: str
    number: int
    status: GridStatus | None
    fresh: bool


@dataclass(frozen=True)
class DidLine:
    did: str
    status: DidStatus | None
    fresh: bool


def _enqueue(kind: str, items: list[Any]) -> None:
    """Ask a worker to fetch these statuses (a job/task kind, or "did" for Rucio)."""
    # Not asked again before the last ask could have been answered (one call's timeout and
    # a poll), whoever asks; the breaker keeps a down monitor from being hammered.
    window = math.ceil(settings.GRID_HTTP_TIMEOUT_S + settings.GRID_PANEL_POLL_S)
    todo = [n for n in items if cache.add(f"grid:asked:{kind}:{n}", 1, window)]
    if not todo:
        return
    from grid.tasks import dids_fetch_task, statuses_fetch_task

    def send() -> None:
        try:
            if kind == "did":
                dids_fetch_task.delay(todo)
            else:
                statuses_fetch_task.delay(kind, todo)
        except Exception:  # the broker being away must not break a page
            log.exception("could not ask for grid statuses")
            for n in todo:
                cache.delete(f"grid:asked:{kind}:{n}")

    transaction.on_commit(send)


def _did_lines(datasets: list[str], now: datetime) -> list[DidLine]:
    if not datasets or not rucio_configured():
        return []
    pairs = {did: did_split(did) for did in datasets}
    stored = did_statuses(pairs.values())
    lines = [
        DidLine(did, stored.get(pairs[did]), did_is_fresh(stored.get(pairs[did]), now))
        for did in datasets
    ]
    stale = [line.did for line in lines if not line.fresh]
    if stale:
        _enqueue("did", stale)
    return lines


@login_required
def status_fragment(request: HttpRequest, reference: tuple[str, int]) -> HttpResponse:
    ticket = ticket_get_for_user(request.user, prefix=reference[0], number=reference[1])
    if ticket is None:
        raise Http404
    ids = ticket_grid_ids(ticket)
    now = timezone.now()
    lines: list[StatusLine] = []
    for kind, numbers in (
        (StatusKind.TASK, list(ids.tasks[:SHOWN_PER_KIND])),
        (StatusKind.JOB, list(ids.jobs[:SHOWN_PER_KIND])),
    ):
        stored = statuses(kind, numbers)
        kind_lines = [
            StatusLine(kind, n, stored.get(n), is_fresh(stored.get(n), now)) for n in numbers
        ]
        stale = [line.number for line in kind_lines if not line.fresh]
        if stale:
            _enqueue(kind, stale)
        lines += kind_lines
    dids = _did_lines(list(ids.datasets[:SHOWN_PER_KIND]), now)
    tries = int(request.GET.get("try", "0")) if request.GET.get("try", "0").isdigit() else 0
    monitor: ServiceHealth | None = health(Service.BIGPANDA)
    waiting = any(not line.fresh for line in lines) or any(not d.fresh for d in dids)
    return render(
        request,
        "grid/status.html",
        {
            "ticket": ticket,
            "lines": lines,
            "dids": dids,
            "rucio": health(Service.RUCIO) if dids else None,
            "monitor": monitor,
            "monitor_down": monitor is not None and monitor.state != "closed",
            # Ask again while something is missing, a bounded number of times.
            "next_try": tries + 1 if waiting and tries < settings.GRID_PANEL_POLLS else None,
            "poll_s": settings.GRID_PANEL_POLL_S,
            "job_url": settings.GRID_MONITOR_URLS.get("job", ""),
        },
    )
