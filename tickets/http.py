"""Small facts about an HTTP request that several pages need."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address, for rate limits. Behind a proxy the settings trust
    (TRUST_X_FORWARDED_FOR), it is the last address that proxy appended to X-Forwarded-For:
    the ones before it are whatever the client chose to send."""
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return str(forwarded.split(",")[-1].strip())
    return str(request.META.get("REMOTE_ADDR", ""))
