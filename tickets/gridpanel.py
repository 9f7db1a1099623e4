"""The ticket page's "Grid" side panel: every JEDI task, PanDA job, Rucio dataset, queue,
storage endpoint and software release named in the thread, linked to its monitor."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from hashlib import sha256
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import render_to_string

from people.models import Team
from tickets.caching import cached_each
from tickets.gridtext import GridIds, find_ids, find_known_names
from tickets.models import Ticket

# More than this many of one kind is a log pasted in: show the first ones.
SHOWN_PER_KIND = 12
# Bump when gridtext finds other ids in the same text.
IDS_VERSION = 2
IDS_CACHE_SECONDS = 7 * 86400


@dataclass(frozen=True)
class GridLink:
    label: str
    url: str  # "" when there is no monitor for it


def _url(kind: str, **values: str) -> str:
    template = settings.GRID_MONITOR_URLS.get(kind, "")
    return template.format(**{k: quote(v, safe="") for k, v in values.items()}) if template else ""


def grid_links(ids: GridIds) -> list[tuple[str, list[GridLink]]]:
    """(heading, links) for each kind found, in a fixed order."""

    def dataset(did: str) -> GridLink:
        scope, _, name = did.partition(":")
        # "user.jdoe:out/" is how DQ2 wrote a container; Rucio names it without the slash.
        name = name.rstrip("/")
        url = _url("dataset", scope=scope, name=name) if name else ""
        return GridLink(did, url)

    groups = [
        ("JEDI tasks", [GridLink(str(t), _url("task", id=str(t))) for t in ids.tasks]),
        ("PanDA jobs", [GridLink(str(j), _url("job", id=str(j))) for j in ids.jobs]),
        ("Datasets", [dataset(d) for d in ids.datasets]),
        ("Queues", [GridLink(q, _url("queue", name=q)) for q in ids.queues]),
        ("Sites and storage", [GridLink(s, _url("site", name=s)) for s in ids.sites]),
        ("Releases", [GridLink(r, "") for r in ids.releases]),
    ]
    return [(heading, links[:SHOWN_PER_KIND]) for heading, links in groups if links]


# Directories of site and queue names, registered at start-up by the apps that keep them
# (the grid app's site directory, escalation's site contacts): for a team, a version string
# that changes when the names do, and the names (upper-case -> "site" or "queue").
SiteNames = Callable[[Team], tuple[str, Mapping[str, str]]]
_directories: dict[str, SiteNames] = {}


def site_names_register(name: str, directory: SiteNames) -> None:
    _directories[name] = directory


def known_site_names(team: Team) -> tuple[str, dict[str, str]]:
    versions: list[str] = []
    names: dict[str, str] = {}
    for key, directory in sorted(_directories.items()):
        version, found = directory(team)
        versions.append(f"{key}={version}")
        for name, kind in found.items():
            names.setdefault(name, kind)
    return ";".join(versions), names


# What a site's many names (PanDA queue, ATLAS site, GOCDB site, storage endpoint) resolve
# to, registered at start-up by the app that keeps the aliases (grid): names -> {the name
# upper-case: the site's one name}, for the names it knows.
SiteResolver = Callable[[Collection[str]], Mapping[str, str]]
_resolvers: dict[str, SiteResolver] = {}


def site_resolver_register(name: str, resolver: SiteResolver) -> None:
    _resolvers[name] = resolver


def sites_resolved(names: Collection[str]) -> dict[str, str]:
    """Each name a resolver knows (upper-case) -> its site's one name; the first resolver
    (by registered name) that knows a name wins."""
    out: dict[str, str] = {}
    if not names:
        return out
    for _, resolver in sorted(_resolvers.items()):
        for name, site in resolver(names).items():
            out.setdefault(name.upper(), site)
    return out


def _names_key(text: str, version: str) -> str:
    return "grid-names:" + sha256(f"{version}\0{text}".encode()).hexdigest()


def _ids_key(text: str) -> str:
    # By content: the same text always has the same ids (for the same JIRA projects).
    projects = ",".join(settings.JIRA_PROJECTS)
    return f"grid-ids:{IDS_VERSION}:" + sha256(f"{projects}\0{text}".encode()).hexdigest()


def ticket_grid_ids(ticket: Ticket) -> GridIds:
    """The ids in the subject and every message of the thread (the prefetched ones). Each
    message's ids are found once and kept in the cache: one ``get_many`` per page."""
    found = find_ids(ticket.subject, jira_projects=settings.JIRA_PROJECTS)
    texts = [m.body_text for m in ticket.messages.all()]
    each = cached_each(
        [_ids_key(text) for text in texts],
        lambda i: find_ids(texts[i], jira_projects=settings.JIRA_PROJECTS),
        IDS_CACHE_SECONDS,
    )
    for ids in each:
        found = found.merged(ids)
    version, known = known_site_names(ticket.team)
    if known:  # site names written plain ("FZK-LCG2 is down"), as the directories know them
        everything = [ticket.subject, *texts]
        plain = cached_each(
            [_names_key(text, version) for text in everything],
            lambda i: find_known_names(everything[i], known),
            IDS_CACHE_SECONDS,
        )
        for ids in plain:
            found = found.merged(ids)
    return found


def panel(request: HttpRequest, ticket: Ticket) -> str:
    groups = grid_links(ticket_grid_ids(ticket))
    if not groups:
        return ""
    return render_to_string("tickets/grid_panel.html", {"groups": groups}, request=request)
