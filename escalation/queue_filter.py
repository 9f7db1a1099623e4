"""The queue's "Escalated to" filter (registered in EscalationConfig.ready()): the tickets
escalated to an expert group, site or cloud, or to a cloud or any of its sites, optionally
between two days or two instants. The reports' escalation and incident figures link to it.

A value is a group's id ("12") or a cloud's with its sites ("cloud:12"); the days are the
viewer's, as the queue's "Opened from/until" are; "Escalated during" is two instants
(tickets.forms.SpanField): the reports' period, as the team's days bound it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet

from escalation.models import Escalation, ExpertGroup, GroupKind
from people.models import Team
from tickets.forms import SpanField
from tickets.models import Ticket

CLOUD = "cloud:"
DAY = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_VALUE = re.compile(r"^(?:cloud:)?\d{1,18}$")


def escalated_to_value(group_id: int, *, whole_cloud: bool = False) -> str:
    """The filter's value for a group (``whole_cloud``: a cloud with its sites)."""
    return f"{CLOUD if whole_cloud else ''}{group_id}"


def _choices(teams: Sequence[Team]) -> list[tuple[str, str]]:
    out = [("", "Any group or none")]
    groups = ExpertGroup.objects.filter(team__in=list(teams)).order_by("kind", "name")
    for group in groups:
        out.append((escalated_to_value(group.pk), group.name))
        if group.kind == GroupKind.CLOUD:
            out.append((escalated_to_value(group.pk, whole_cloud=True), f"{group.name} + sites"))
    return out


class EscalatedTo(forms.CharField):
    def clean(self, value: Any) -> str:
        value = str(super().clean(value) or "").strip()
        if value and not _VALUE.match(value):
            raise forms.ValidationError("Choose an expert group, site or cloud.")
        return value


def fields(teams: Sequence[Team]) -> dict[str, forms.Field]:
    # The groups are read only when the form is drawn (a callable's choices are lazy).
    return {
        "escalated_to": EscalatedTo(
            required=False,
            label="Escalated to",
            widget=forms.Select(choices=lambda: _choices(teams)),  # type: ignore[arg-type]
        ),
        "escalated_from": forms.DateField(required=False, label="Escalated from", widget=DAY),
        "escalated_until": forms.DateField(required=False, label="Escalated until", widget=DAY),
        "escalated_during": SpanField(
            required=False,
            label="Escalated during",
            help_text="Two instants, start/end (ISO 8601, UTC): as the reports count a period.",
        ),
    }


def narrow(tickets: QuerySet[Ticket], data: dict[str, Any]) -> QuerySet[Ticket]:
    """The tickets with an escalation matching the values given (a day alone: escalated to
    anyone then)."""
    escalations = Escalation.objects.filter(ticket=OuterRef("pk"))
    target = data.get("escalated_to") or ""
    if target.startswith(CLOUD):
        pk = int(target.removeprefix(CLOUD))
        escalations = escalations.filter(Q(group_id=pk) | Q(group__cloud_id=pk))
    elif target:
        escalations = escalations.filter(group_id=int(target))
    if data.get("escalated_from"):
        escalations = escalations.filter(created_at__date__gte=data["escalated_from"])
    if data.get("escalated_until"):
        escalations = escalations.filter(created_at__date__lte=data["escalated_until"])
    if data.get("escalated_during"):
        start, end = data["escalated_during"]
        escalations = escalations.filter(created_at__gte=start, created_at__lt=end)
    return tickets.filter(Exists(escalations))
