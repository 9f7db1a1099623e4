"""Side panels of the ticket page that other apps contribute (escalations, timers).

``tickets`` knows nothing of those apps: each registers a function at start-up (in its
AppConfig.ready) that renders its panel for a ticket, or returns "" to show nothing. A panel
may also give annotations for the page's ticket query (e.g. whether there is anything to
show at all), which it then finds on the ticket.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models.expressions import BaseExpression
from django.http import HttpRequest
from django.utils.safestring import SafeString

from tickets.models import Ticket

Panel = Callable[[HttpRequest, Ticket], str]
_panels: dict[str, Panel] = {}
_annotations: dict[str, Callable[[], dict[str, BaseExpression]]] = {}


def register(
    name: str, panel: Panel, annotations: Callable[[], dict[str, BaseExpression]] | None = None
) -> None:
    _panels[name] = panel
    if annotations is not None:
        _annotations[name] = annotations


def page_annotations() -> dict[str, BaseExpression]:
    """What the registered panels want annotated on the ticket page's ticket."""
    return {key: value for made in _annotations.values() for key, value in made().items()}


def render_panels(request: HttpRequest, ticket: Ticket) -> list[SafeString]:
    """Each registered panel's HTML (already escaped by its own template)."""
    return [SafeString(html) for panel in _panels.values() if (html := panel(request, ticket))]
