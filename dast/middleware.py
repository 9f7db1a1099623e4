"""Middleware of the whole site."""

from __future__ import annotations

import secrets
import zoneinfo
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone


@lru_cache(maxsize=64)
def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class ViewerTimeZoneMiddleware:
    """Pages show times in the viewer's time zone: the browser tells it in the ``tz``
    cookie (static/js/desk.js); without one, or with one that is not a real zone, UTC.
    The value is read percent-decoded too: browsers that ran the old desk.js keep
    ``Europe%2FZurich`` for a year."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = unquote(request.COOKIES.get("tz", ""))
        zone = _zone(name) if 0 < len(name) <= 64 else None
        if zone is not None:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class RejectNulMiddleware:
    """A NUL character in the query string is refused with a 400 that says so: PostgreSQL
    cannot store or compare one, so a search or filter holding it would otherwise end in a
    500. (Form and API fields refuse NUL already: Django's and DRF's CharField validators.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any("\x00" in "".join([key, *values]) for key, values in request.GET.lists()):
            return HttpResponseBadRequest(
                "The address holds a NUL character (%00), which no search or filter can use.",
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """A Content-Security-Policy on every answer that has none yet (the requester's pages and
    attachment downloads set stricter ones of their own). Scripts and styles come only from
    this site; the few inline scripts left carry the request's nonce
    (``{{ request.csp_nonce }}``); no eval, so htmx's trigger filters and hx-on are out.
    Images: this site and data: only, so a mail shown on a page cannot call home. A page
    whose forms lead elsewhere (the sign-in page's single sign-on buttons, redirected to the
    provider) names those origins in ``request.csp_form_action``."""

    POLICY = (
        "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
        "form-action 'self'{form_action}; frame-ancestors 'none'; base-uri 'none'"
    )

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(18)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        if "Content-Security-Policy" not in response.headers:
            extra = "".join(f" {origin}" for origin in getattr(request, "csp_form_action", ()))
            response.headers["Content-Security-Policy"] = self.POLICY.format(
                nonce=nonce, form_action=extra
            )
        return response
