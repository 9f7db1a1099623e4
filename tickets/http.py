"""Small facts about an HTTP request that several pages need."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest

from tickets.models import Attachment

# Control characters and path separators have no place in a download's name.
_UNSAFE_FILENAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def client_ip(request: HttpRequest) -> str:
    """The client's address, for rate limits. Behind a proxy the settings trust
    (TRUST_X_FORWARDED_FOR), it is the last address that proxy appended to X-Forwarded-For:
    the ones before it are whatever the client chose to send."""
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return str(forwarded.split(",")[-1].strip())
    return str(request.META.get("REMOTE_ADDR", ""))


def attachment_download(item: Attachment) -> FileResponse:
    """An attachment as a download, never rendered: whatever its sender made it, the browser
    saves it (octet-stream, attachment, nosniff, a sandbox CSP). 404 when only its name and
    size were kept, or its file is gone."""
    if not item.file:
        raise Http404("This attachment was too large to keep; only its name and size are.")
    try:
        handle = item.file.open("rb")
    except FileNotFoundError:
        raise Http404("This attachment's file is missing.") from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=_UNSAFE_FILENAME.sub("_", item.filename) or "attachment",
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
