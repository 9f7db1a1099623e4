"""Small template filters for the desk's pages."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

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
