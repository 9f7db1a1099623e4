"""Reads of the grid app: which site a name means, its downtimes, the stored status of
jobs and tasks, and the services' health. Only the database: nothing here calls out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Subquery

from grid.models import (
    AliasKind,
    DidStatus,
    Downtime,
    GridStatus,
    ServiceHealth,
    Severity,
    Site,
    SiteAlias,
    TicketMention,
)
from people.models import Team
from tickets.models import Ticket

# Downtimes starting this soon are shown beside the ongoing ones.
UPCOMING = timedelta(hours=24)


def sites_named(names: Iterable[str]) -> dict[str, Site]:
    """name as given -> its site, for the names any alias knows (case-insensitive)."""
    given = {name: name.upper() for name in names}
    found = {
        a.name: a.site
        for a in SiteAlias.objects.filter(name__in=set(given.values())).select_related("site")
    }
    return {name: found[upper] for name, upper in given.items() if upper in found}


def site_names_resolved(names: Iterable[str]) -> dict[str, str]:
    """name upper-case -> its site's ATLAS name, for the names any alias knows (registered
    with tickets.gridpanel: the reports count a site's incidents under one name). One
    query."""
    return {name.upper(): site.name for name, site in sites_named(names).items()}


# The directory's names by version (one process keeps the latest): read again only when an
# alias is added or removed or a refresh touched the sites.
_NAMES: dict[str, dict[str, str]] = {}


def site_directory_names(team: Team) -> tuple[str, dict[str, str]]:
    """Every name of the site directory (upper-case) -> "queue" or "site", and a version
    that changes with them. The directory serves every team. One query when unchanged."""
    return directory_names()


def directory_names() -> tuple[str, dict[str, str]]:
    """``site_directory_names``, for no team in particular."""
    now = SiteAlias.objects.aggregate(n=Count("pk"), last=Max("pk"), at=Max("site__updated_at"))
    version = f"{now['n']}.{now['last']}.{now['at'].timestamp() if now['at'] else 0}"
    if version not in _NAMES:
        _NAMES.clear()
        _NAMES[version] = {
            name: "queue" if kind == AliasKind.QUEUE else "site"
            for name, kind in SiteAlias.objects.values_list("name", "kind")
        }
    return version, _NAMES[version]


def _gocdb_names(site: Site) -> set[str]:
    names = {site.name}
    if site.gocdb_name:
        names.add(site.gocdb_name)
    return names


@dataclass(frozen=True)
class SiteDowntimes:
    site: Site
    named_as: tuple[str, ...]  # how the ticket calls it
    ongoing: tuple[Downtime, ...]
    upcoming: tuple[Downtime, ...]

    @property
    def outage(self) -> Downtime | None:
        """The ongoing outage that ends last, if any."""
        outages = [d for d in self.ongoing if d.severity == Severity.OUTAGE]
        return max(outages, key=lambda d: d.end_at) if outages else None


def downtimes_for_names(names: Iterable[str], at: datetime) -> list[SiteDowntimes]:
    """For each site the names mean, its downtimes ongoing at ``at`` or starting within a
    day, in the order the names come."""
    by_site: dict[int, tuple[Site, list[str]]] = {}
    for name, site in sites_named(names).items():
        by_site.setdefault(site.pk, (site, []))[1].append(name)
    if not by_site:
        return []
    gocdb = {n: pk for pk, (site, _) in by_site.items() for n in _gocdb_names(site)}
    rows = Downtime.objects.filter(
        gocdb_site__in=list(gocdb), end_at__gt=at, start_at__lte=at + UPCOMING
    ).order_by("start_at")
    found: dict[int, list[Downtime]] = {}
    for row in rows:
        found.setdefault(gocdb[row.gocdb_site], []).append(row)
    result = []
    for pk, (site, named) in by_site.items():
        rows_of = found.get(pk, [])
        result.append(
            SiteDowntimes(
                site=site,
                named_as=tuple(named),
                ongoing=tuple(d for d in rows_of if d.start_at <= at),
                upcoming=tuple(d for d in rows_of if d.start_at > at),
            )
        )
    return result


def outage_until(name: str, at: datetime) -> Downtime | None:
    """The ongoing declared outage of the site ``name`` means that ends last."""
    for found in downtimes_for_names([name], at):
        if found.outage is not None:
            return found.outage
    return None


def tickets_naming_sites_in_outage(tickets: QuerySet[Ticket], at: datetime) -> QuerySet[Ticket]:
    """The tickets that name (a queue or endpoint of) a site in a declared outage now."""
    down = Downtime.objects.filter(severity=Severity.OUTAGE, start_at__lte=at, end_at__gt=at)
    names = SiteAlias.objects.filter(
        Q(site__name__in=down.values("gocdb_site"))
        | Q(site__gocdb_name__in=down.values("gocdb_site"))
    ).values("name")
    return tickets.filter(
        Exists(TicketMention.objects.filter(ticket=OuterRef("pk"), name__in=names))
    )


@dataclass(frozen=True)
class NamedOutage:
    named_as: str  # how the ticket calls it (upper-case: a queue, endpoint or site name)
    site: str  # the ATLAS site
    gocdb_site: str
    until: datetime


def outages_named_by(ticket_ids: Iterable[int], at: datetime) -> dict[int, list[NamedOutage]]:
    """ticket id -> the sites in a declared outage at ``at`` that the ticket names (by any
    alias), each with the end of its outage that ends last. Two queries for any number of
    tickets (one when no site is in an outage)."""
    ids = list(ticket_ids)
    ends: dict[str, datetime] = {}
    down = Downtime.objects.filter(severity=Severity.OUTAGE, start_at__lte=at, end_at__gt=at)
    for gocdb_site, end_at in down.values_list("gocdb_site", "end_at"):
        ends[gocdb_site] = max(end_at, ends.get(gocdb_site, end_at))
    if not ids or not ends:
        return {}
    alias = SiteAlias.objects.filter(name=OuterRef("name"))
    mentions = (
        TicketMention.objects.filter(
            ticket_id__in=ids,
            name__in=SiteAlias.objects.filter(
                Q(site__name__in=list(ends)) | Q(site__gocdb_name__in=list(ends))
            ).values("name"),
        )
        .annotate(
            site_name=Subquery(alias.values("site__name")[:1]),
            gocdb_name=Subquery(alias.values("site__gocdb_name")[:1]),
        )
        .order_by("ticket_id", "name")
        .values_list("ticket_id", "name", "site_name", "gocdb_name")
    )
    found: dict[int, dict[str, NamedOutage]] = {}
    for ticket_id, name, site, gocdb_name in mentions:
        # GOCDB declares under its own name; an older directory may have used the ATLAS one.
        declared = [(ends[n], n) for n in (gocdb_name, site) if n in ends]
        until, gocdb_site = max(declared)
        seen = found.setdefault(ticket_id, {})
        if site not in seen:  # a queue and its site named both: the site once
            seen[site] = NamedOutage(name, site, gocdb_site, until)
    return {pk: list(by_site.values()) for pk, by_site in found.items()}


def statuses(kind: str, numbers: Iterable[int]) -> dict[int, GridStatus]:
    return {s.number: s for s in GridStatus.objects.filter(kind=kind, number__in=list(numbers))}


def is_fresh(status: GridStatus | None, at: datetime) -> bool:
    if status is None or status.fetched_at is None:
        return False
    return status.fetched_at >= at - timedelta(seconds=settings.GRID_STATUS_TTL_S)


def did_statuses(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], DidStatus]:
    """(scope, name) -> what Rucio last said, for those asked before."""
    pairs = list(pairs)
    if not pairs:
        return {}
    query = Q()
    for scope, name in pairs:
        query |= Q(scope=scope, name=name)
    return {(d.scope, d.name): d for d in DidStatus.objects.filter(query)}


def did_is_fresh(row: DidStatus | None, at: datetime) -> bool:
    if row is None or row.fetched_at is None:
        return False
    return row.fetched_at >= at - timedelta(seconds=settings.RUCIO_DID_TTL_S)


def health(service: str) -> ServiceHealth | None:
    return ServiceHealth.objects.filter(service=service).first()
