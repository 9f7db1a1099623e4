"""Who the desk escalates to (expert groups and cloud/site support contacts), and the record
of shift handovers."""

from __future__ import annotations

from django.db import models

from shifts.models import Zone
from tickets.models import Team


class GroupKind(models.TextChoices):
    EXPERT = "expert", "Expert group"
    CLOUD = "cloud", "Cloud support"
    SITE = "site", "Site support"


class ExpertGroup(models.Model):
    """An expert group (PanDA/JEDI, Rucio/DDM, ...) or a cloud or site support contact."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="expert_groups")
    kind = models.CharField(max_length=8, choices=GroupKind.choices, default=GroupKind.EXPERT)
    name = models.CharField(max_length=100)
    email = models.EmailField()
    cloud = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sites",
        limit_choices_to={"kind": GroupKind.CLOUD},
        help_text="For a site: the cloud it belongs to.",
    )
    response_target_hours = models.PositiveIntegerField(
        default=8, help_text="Working hours before a reminder (experts 8 = 1 day, sites 16)."
    )
    next_level = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who hears when this group stays silent.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["team", "kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "kind", "name"], name="expertgroup_unique_name"
            ),
            models.CheckConstraint(
                condition=models.Q(cloud__isnull=True) | models.Q(kind="site"),
                name="expertgroup_only_sites_have_a_cloud",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Handover(models.Model):
    """That the end of a slot (zone, day) was handed over. The row is the claim: its unique
    constraint lets one beat process or worker do each handover, once."""

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="handovers")
    day = models.DateField(help_text="The slot's local date (the day it started).")
    done_at = models.DateTimeField()
    tickets_moved = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day", "zone"]
        constraints = [
            models.UniqueConstraint(fields=["zone", "day"], name="handover_once_per_slot")
        ]

    def __str__(self) -> str:
        return f"{self.zone} {self.day} handed over"
