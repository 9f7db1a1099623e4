"""The queue's "Names site" filter (registered in ReportsConfig.ready()): the tickets whose
opening mail names a site, as the incident figures count them (the rollup's sites, each
resolved through the site directories' aliases to one name)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.db import connection
from django.db.models import QuerySet

from people.models import Team
from reports.models import TicketFigures
from tickets.models import Ticket


def fields(teams: Sequence[Team]) -> dict[str, forms.Field]:
    return {
        "names_site": forms.CharField(
            required=False, max_length=120, label="Names site", help_text="As the reports name it."
        )
    }


def narrow(tickets: QuerySet[Ticket], data: dict[str, Any]) -> QuerySet[Ticket]:
    site = data["names_site"].strip()
    if connection.vendor == "postgresql":
        return tickets.filter(figures__sites__contains=[site])
    # SQLite (make run) has no JSON containment: the few rows naming it, read here.
    rows = TicketFigures.objects.filter(sites__icontains=site).values_list("ticket_id", "sites")
    return tickets.filter(pk__in=[pk for pk, sites in rows if site in (sites or [])])
