"""What the desk knows about the grid outside it: the health of each service it asks, the
sites (with every name a ticket may call them by), their declared downtimes, the last
status of PanDA jobs and JEDI tasks, and which sites and queues each ticket names."""

from __future__ import annotations

from django.db import models

from tickets.models import Ticket


class Service(models.TextChoices):
    GOCDB = "gocdb", "GOCDB (downtimes)"
    CRIC = "cric", "CRIC (sites and queues)"
    BIGPANDA = "bigpanda", "BigPanDA monitor"


class BreakerState(models.TextChoices):
    CLOSED = "closed", "Closed (calls go through)"
    OPEN = "open", "Open (no calls until it cools down)"
    HALF_OPEN = "half_open", "Half open (one trial call)"


class ServiceHealth(models.Model):
    """One row per service: its circuit breaker, shared by every web and worker process,
    and what the last calls did."""

    service = models.CharField(max_length=16, choices=Service.choices, unique=True)
    state = models.CharField(
        max_length=10, choices=BreakerState.choices, default=BreakerState.CLOSED
    )
    failures = models.PositiveIntegerField(default=0, help_text="Failed calls in a row.")
    open_until = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["service"]
        verbose_name = "service health"
        verbose_name_plural = "service health"

    def __str__(self) -> str:
        return f"{self.get_service_display()}: {self.get_state_display()}"


class Site(models.Model):
    """A grid site, named by CRIC (ATLAS site) and GOCDB; its queues and storage endpoints
    are aliases."""

    name = models.CharField(max_length=100, unique=True, help_text="The ATLAS site name.")
    gocdb_name = models.CharField(max_length=100, blank=True)
    cloud = models.CharField(max_length=32, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AliasKind(models.TextChoices):
    ATLAS = "atlas", "ATLAS site"
    GOCDB = "gocdb", "GOCDB site"
    QUEUE = "queue", "PanDA queue"
    RSE = "rse", "Storage endpoint"


class SiteAlias(models.Model):
    """A name that means the site: stored upper-case, looked up upper-case."""

    name = models.CharField(max_length=120, unique=True)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="aliases")
    kind = models.CharField(max_length=8, choices=AliasKind.choices)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "site aliases"

    def __str__(self) -> str:
        return f"{self.name} → {self.site_id}"


class Severity(models.TextChoices):
    OUTAGE = "OUTAGE", "Outage"
    WARNING = "WARNING", "At risk"


class Classification(models.TextChoices):
    SCHEDULED = "SCHEDULED", "scheduled"
    UNSCHEDULED = "UNSCHEDULED", "unscheduled"


class Downtime(models.Model):
    """A downtime declared in GOCDB (one row per downtime, its services listed)."""

    key = models.CharField(max_length=64, unique=True, help_text="GOCDB's PRIMARY_KEY.")
    gocdb_site = models.CharField(max_length=100, db_index=True)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    classification = models.CharField(max_length=12, choices=Classification.choices)
    description = models.TextField(blank=True)
    services = models.TextField(blank=True, help_text="Affected host and service, one a line.")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    url = models.URLField(max_length=500, blank=True)
    seen_at = models.DateTimeField(help_text="When the feed last listed it.")

    class Meta:
        ordering = ["start_at", "pk"]
        indexes = [models.Index(fields=["gocdb_site", "end_at"], name="downtime_site_end")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_at__gte=models.F("start_at")),
                name="downtime_ends_after_it_starts",
            )
        ]

    def __str__(self) -> str:
        return f"{self.gocdb_site} {self.severity} {self.start_at:%Y-%m-%d %H:%M}"


class StatusKind(models.TextChoices):
    JOB = "job", "PanDA job"
    TASK = "task", "JEDI task"


class GridStatus(models.Model):
    """The monitor's last word on a job or task, kept for GRID_STATUS_TTL_S; ``error`` says
    why the last fetch failed (the older answer, if any, is kept beside it)."""

    kind = models.CharField(max_length=4, choices=StatusKind.choices)
    number = models.BigIntegerField()
    found = models.BooleanField(default=False, help_text="The monitor knows it.")
    status = models.CharField(max_length=32, blank=True)
    site = models.CharField(max_length=120, blank=True)
    errors = models.JSONField(default=list, help_text="[[source, code, dialog], ...]")
    fetched_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "number"]
        verbose_name_plural = "grid statuses"
        constraints = [models.UniqueConstraint(fields=["kind", "number"], name="gridstatus_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.number}: {self.status or '?'}"


class MentionKind(models.TextChoices):
    QUEUE = "queue", "Queue"
    SITE = "site", "Site or storage"


class TicketMention(models.Model):
    """A queue or site named in a ticket (upper-case), so the queue can ask "which tickets
    name a site in downtime" in one query."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="grid_mentions")
    kind = models.CharField(max_length=8, choices=MentionKind.choices)
    name = models.CharField(max_length=120, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind", "name"], name="mention_once")
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} names {self.name}"
