"""What dispatch keeps: which shift ends were handed over."""

from __future__ import annotations

from django.db import models

from shifts.models import Zone


class Handover(models.Model):
    """That the end of a slot (zone, day) was handed over. The row is the claim: its unique
    constraint lets one beat process or worker do each handover, once."""

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="handovers")
    day = models.DateField(help_text="The slot's local date (the day it started).")
    done_at = models.DateTimeField()
    tickets_moved = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "escalation_handover"  # made when handover lived in escalation; kept
        ordering = ["-day", "zone"]
        constraints = [
            models.UniqueConstraint(fields=["zone", "day"], name="handover_once_per_slot")
        ]

    def __str__(self) -> str:
        return f"{self.zone} {self.day} handed over"
