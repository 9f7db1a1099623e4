"""Links the desk puts in its mails: absolute, on the site's base address (SITE_URL)."""

from __future__ import annotations

from typing import Protocol

from django.conf import settings


class Linkable(Protocol):
    def get_absolute_url(self) -> str: ...


def site_url(target: str | Linkable, anchor: str = "") -> str:
    """The absolute link to ``target``: a path (from ``reverse()``, with any query) or a
    model with a page of its own (``get_absolute_url()``: a ticket), for a mail or a chat
    message; ``anchor`` without its "#"."""
    path = target if isinstance(target, str) else target.get_absolute_url()
    return f"{settings.SITE_URL}{path}{f'#{anchor}' if anchor else ''}"
