"""An attachment as a download."""

from __future__ import annotations

import re

from django.http import FileResponse, Http404

from tickets.models import Attachment

# Control characters and path separators have no place in a download's name.
_UNSAFE_FILENAME = re.compile(r"[\x00-\x1f\x7f/\\]")


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
