"""Small template filters for the desk's pages."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from tickets.mail.html import sanitise
from tickets.mail.quotes import find_quote_start
from tickets.models import Message

register = template.Library()


@register.filter
def age(value: datetime | None) -> str:
    """How long ago, in one short unit: '12 min', '5 h', '3 d', '7 wk'."""
    if value is None:
        return ""
    seconds = max(0, int((timezone.now() - value).total_seconds()))
    for unit, size in (("wk", 7 * 86400), ("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size * (2 if unit == "wk" else 1):
            return f"{seconds // size} {unit}"
    return "now"


def _quote_start(message: Message) -> int | None:
    """Where the quoted history starts: found at intake, else (messages written by other
    means, older imports) looked for now."""
    if message.quote_start is not None:
        return message.quote_start
    return find_quote_start(message.body_text)


@register.filter
def main_text(message: Message) -> str:
    """The message without its quoted history (folded away on the page)."""
    cut = _quote_start(message)
    return message.body_text[:cut].rstrip() if cut else message.body_text


@register.filter
def quoted_text(message: Message) -> str:
    cut = _quote_start(message)
    return message.body_text[cut:] if cut else ""


@register.filter
def safe_html(message: Message) -> SafeString:
    """The HTML version, sanitised again at display (it was at intake): a later widening of
    the allow-list cannot make stored mail dangerous."""
    return mark_safe(sanitise(message.body_html))  # noqa: S308 - nh3 output
