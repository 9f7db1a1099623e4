"""The ticket page's "Grid" side panel: every JEDI task, PanDA job, Rucio dataset, queue,
storage endpoint and software release named in the thread, linked to its monitor."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import render_to_string

from tickets.gridtext import GridIds, find_ids
from tickets.models import Ticket

# More than this many of one kind is a log pasted in: show the first ones.
SHOWN_PER_KIND = 12


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


def ticket_grid_ids(ticket: Ticket) -> GridIds:
    """The ids in the subject and every message of the thread (the prefetched ones)."""
    found = find_ids(ticket.subject, jira_projects=settings.JIRA_PROJECTS)
    for message in ticket.messages.all():
        found = found.merged(find_ids(message.body_text, jira_projects=settings.JIRA_PROJECTS))
    return found


def panel(request: HttpRequest, ticket: Ticket) -> str:
    groups = grid_links(ticket_grid_ids(ticket))
    if not groups:
        return ""
    return render_to_string("tickets/grid_panel.html", {"groups": groups}, request=request)
