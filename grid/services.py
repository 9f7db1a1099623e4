"""Writes of the grid app: the site directory and its downtimes (from CRIC and GOCDB), the
monitor's status of jobs and tasks, and which queues and sites each ticket names. Called by
beat tasks and workers, never by a page."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from grid.http import NotFound, ServiceError, fetch, service_configured
from grid.models import (
    AliasKind,
    Downtime,
    GridStatus,
    MentionKind,
    Service,
    Site,
    SiteAlias,
    StatusKind,
    TicketMention,
)
from grid.parse import (
    CricEntry,
    DowntimeRow,
    parse_cric,
    parse_downtimes,
    parse_job,
    parse_task,
)
from grid.selectors import directory_names
from tickets.gridtext import find_ids, find_known_names
from tickets.models import Message, Ticket

log = logging.getLogger(__name__)


# --- sites and downtimes -------------------------------------------------------------------


def sites_refresh() -> int:
    """Fill the site directory from CRIC's queues and storage endpoints: each ATLAS site
    with its GOCDB name and cloud, every queue and endpoint an alias of it. Names CRIC
    stops listing are left alone (a ticket from last month still names them)."""
    entries: list[tuple[CricEntry, str]] = []
    for path, kind in (
        (settings.CRIC_QUEUES_PATH, AliasKind.QUEUE),
        (settings.CRIC_ENDPOINTS_PATH, AliasKind.RSE),
    ):
        entries += [(e, kind) for e in fetch(Service.CRIC, path, lambda r: parse_cric(r.content))]
    return sites_store(entries, timezone.now())


def sites_store(entries: Sequence[tuple[CricEntry, str]], now: datetime) -> int:
    """Store CRIC's entries, each with its alias kind (queue or storage endpoint)."""
    with transaction.atomic():
        sites: dict[str, Site] = {}
        for entry, _ in entries:
            if entry.atlas_site in sites:
                continue
            site, _ = Site.objects.update_or_create(
                name=entry.atlas_site,
                defaults={"gocdb_name": entry.gocdb_site, "cloud": entry.cloud, "updated_at": now},
            )
            sites[entry.atlas_site] = site
        aliases: list[tuple[str, Site, str]] = [
            (e.name, sites[e.atlas_site], kind) for e, kind in entries
        ]
        for site in sites.values():
            aliases.append((site.name, site, AliasKind.ATLAS))
            if site.gocdb_name:
                aliases.append((site.gocdb_name, site, AliasKind.GOCDB))
        for name, owner, alias_kind in aliases:
            SiteAlias.objects.update_or_create(
                name=name.upper(), defaults={"site": owner, "kind": alias_kind}
            )
    return len(sites)


def downtimes_refresh(*, now: datetime | None = None) -> int:
    """Store the downtimes GOCDB declares from now to GRID_DOWNTIME_WINDOW_DAYS ahead
    (ongoing ones included); a downtime GOCDB no longer lists in that window (cancelled)
    is deleted, past ones are kept a week for the reports."""
    now = now or timezone.now()
    params = {
        "method": "get_downtime",
        "windowstart": now.date().isoformat(),
        "windowend": (now + timedelta(days=settings.GRID_DOWNTIME_WINDOW_DAYS)).date().isoformat(),
    }
    if settings.GOCDB_SCOPE:
        params["scope"] = settings.GOCDB_SCOPE
    rows = fetch(
        Service.GOCDB, settings.GOCDB_PATH, lambda r: parse_downtimes(r.content), params=params
    )
    return downtimes_store(rows, now)


def downtimes_store(rows: list[DowntimeRow], now: datetime) -> int:
    """Store the downtimes GOCDB listed; forget the ones it no longer lists."""
    with transaction.atomic():
        for row in rows:
            Downtime.objects.update_or_create(
                key=row.key,
                defaults={
                    "gocdb_site": row.gocdb_site,
                    "severity": row.severity,
                    "classification": row.classification,
                    "description": row.description,
                    "services": "\n".join(row.services),
                    "start_at": row.start_at,
                    "end_at": row.end_at,
                    "url": row.url,
                    "seen_at": now,
                },
            )
        listed = [row.key for row in rows]
        Downtime.objects.filter(end_at__gte=now).exclude(key__in=listed).delete()
        Downtime.objects.filter(end_at__lt=now - timedelta(days=7)).delete()
    return len(rows)


def grid_directory_refresh() -> dict[str, str]:
    """The beat task's work: sites first (so new names resolve), then downtimes. One
    service being down does not stop the other; what failed is on the health page."""
    done: dict[str, str] = {}
    for name, step in (("sites", sites_refresh), ("downtimes", downtimes_refresh)):
        service = Service.CRIC if name == "sites" else Service.GOCDB
        if not service_configured(service):
            done[name] = "not configured"
            continue
        try:
            done[name] = f"{step()} stored"
        except ServiceError as error:
            done[name] = error.message
    return done


# --- jobs and tasks ------------------------------------------------------------------------

_PATHS = {StatusKind.JOB: "/job", StatusKind.TASK: "/task/{n}/"}


def status_fetch(*, kind: str, number: int) -> GridStatus:
    """Ask BigPanDA about one job or task and store the answer (or why there is none)."""
    if kind == StatusKind.JOB:
        path, params, parse = "/job", {"pandaid": str(number), "json": ""}, parse_job
    else:
        path, params, parse = f"/task/{number}/", {"json": ""}, parse_task
    now = timezone.now()
    row, _ = GridStatus.objects.get_or_create(kind=kind, number=number)
    try:
        found = fetch(Service.BIGPANDA, path, lambda r: parse(r.content), params=params)
    except NotFound:
        row.found, row.status, row.site, row.errors = False, "", "", []
        row.fetched_at, row.error = now, ""
    except ServiceError as error:
        row.error, row.error_at = error.message, now
    else:
        row.found, row.status, row.site = True, found.status[:32], found.site[:120]
        row.errors = [list(e) for e in found.errors]
        row.fetched_at, row.error = now, ""
    row.save()
    return row


def statuses_fetch(*, kind: str, numbers: Iterable[int]) -> int:
    """Each of ``numbers`` whose stored status is older than GRID_STATUS_TTL_S."""
    numbers = list(dict.fromkeys(numbers))
    fresh = set(
        GridStatus.objects.filter(
            kind=kind,
            number__in=numbers,
            fetched_at__gte=timezone.now() - timedelta(seconds=settings.GRID_STATUS_TTL_S),
        ).values_list("number", flat=True)
    )
    todo = [n for n in numbers if n not in fresh]
    for number in todo:
        status_fetch(kind=kind, number=number)
    return len(todo)


# --- what tickets name ---------------------------------------------------------------------


def ticket_mentions_index(*, ticket: Ticket) -> int:
    """Store the queues and sites named in the ticket's subject and messages. Idempotent."""
    return tickets_mentions_index(tickets=[ticket])


def tickets_mentions_index(*, tickets: list[Ticket]) -> int:
    """``ticket_mentions_index`` for a batch: four queries whatever its size (one more when
    the site directory changed). Returns how many mentions were new."""
    texts: dict[int, list[str]] = {t.pk: [t.subject] for t in tickets}
    bodies = Message.objects.filter(ticket_id__in=texts).values_list("ticket_id", "body_text")
    for ticket_id, body in bodies.order_by("ticket_id", "pk"):
        texts[ticket_id].append(body)
    have = set(
        TicketMention.objects.filter(ticket_id__in=texts).values_list("ticket_id", "kind", "name")
    )
    new: set[tuple[int, str, str]] = set()
    _, known = directory_names()
    for pk, parts in texts.items():
        text = "\n".join(parts)
        ids = find_ids(text, jira_projects=(), only=("queues", "sites"))
        # Names the site directory knows written plain ("FZK-LCG2 is down"), as on the page.
        ids = ids.merged(find_known_names(text, known)) if known else ids
        new |= {(pk, MentionKind.QUEUE, q.upper()[:120]) for q in ids.queues}
        new |= {(pk, MentionKind.SITE, s.upper()[:120]) for s in ids.sites}
    new -= have
    TicketMention.objects.bulk_create(
        [TicketMention(ticket_id=pk, kind=k, name=n) for pk, k, n in sorted(new)],
        ignore_conflicts=True,
    )
    return len(new)
