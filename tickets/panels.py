"""Side panels of the ticket page that other apps contribute (escalations, timers).

``tickets`` knows nothing of those apps: each registers a function at start-up (in its
AppConfig.ready) that renders its panel for a ticket, or returns "" to show nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

from tickets.models import Ticket

Panel = Callable[[HttpRequest, Ticket], str]
_panels: dict[str, Panel] = {}


def register(name: str, panel: Panel) -> None:
    _panels[name] = panel


def render_panels(request: HttpRequest, ticket: Ticket) -> list[SafeString]:
    """Each registered panel's HTML (already escaped by its own template)."""
    return [SafeString(html) for panel in _panels.values() if (html := panel(request, ticket))]
