"""Middleware of the whole site."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import lru_cache

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
    cookie (static/js/desk.js); without one, or with one that is not a real zone, UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = request.COOKIES.get("tz", "")
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
