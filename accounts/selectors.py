"""Reads of the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.models import AuditEntry


def audit_entries_filtered(params: Mapping[str, str]) -> QuerySet[AuditEntry]:
    """The admin list's filters, as query parameters: kind, via, actor_name, at__gte,
    at__lt (ISO datetimes), q (in subject, actor, address)."""
    entries = AuditEntry.objects.order_by("at", "id")
    for name in ("kind", "via", "actor_name"):
        value = params.get(name) or params.get(f"{name}__exact")
        if value:
            entries = entries.filter(**{name: value})
    for name in ("at__gte", "at__lt"):
        # The admin's date filter sends "2025-03-01 00:00:00+01:00" or a date.
        raw = (params.get(name) or "").strip()
        when = parse_datetime(raw) if raw else None
        day = parse_date(raw) if raw and when is None else None
        if day is not None:
            when = timezone.make_aware(datetime.combine(day, time.min))
        if when is not None:
            entries = entries.filter(**{name: when})
    if params.get("q"):
        q = params["q"]
        entries = entries.filter(
            Q(subject__icontains=q) | Q(actor_name__icontains=q) | Q(address__icontains=q)
        )
    return entries
