"""What the desk knows about the grid outside it: the health of each service it asks, the
sites (with every name a ticket may call them by), their declared downtimes, the last
status of PanDA jobs, JEDI tasks and Rucio DIDs, which sites and queues each ticket names,
and the GGUS tickets opened from escalations."""

from __future__ import annotations

from django.db import models

from escalation.models import Escalation
from tickets.models import ExternalRef, Message, Ticket


class Service(models.TextChoices):
    GOCDB = "gocdb", "GOCDB (downtimes)"
    CRIC = "cric", "CRIC (sites and queues)"
    BIGPANDA = "bigpanda", "BigPanDA monitor"
    RUCIO = "rucio", "Rucio (datasets and replicas)"
    GGUS = "ggus", "GGUS (WLCG/EGI tickets)"


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


class DidStatus(models.Model):
    """What Rucio last said of a DID: whether it exists, its type, and on how many storage
    endpoints it has replicas (None when not counted: a container, or no answer yet)."""

    scope = models.CharField(max_length=100)
    name = models.CharField(max_length=255)
    found = models.BooleanField(default=False)
    did_type = models.CharField(max_length=16, blank=True)
    replicas = models.PositiveIntegerField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["scope", "name"]
        verbose_name = "Rucio DID status"
        verbose_name_plural = "Rucio DID statuses"
        constraints = [models.UniqueConstraint(fields=["scope", "name"], name="didstatus_once")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.name}"


class GgusState(models.TextChoices):
    TO_OPEN = "to_open", "To be opened in GGUS"
    OPEN = "open", "Open in GGUS (mirrored)"
    SOLVED = "solved", "Solved in GGUS"
    ENDED = "ended", "No longer followed"
    FAILED = "failed", "Could not be opened"
    TO_CLOSE = "to_close", "To be closed in GGUS (escalation cancelled)"
    CLOSED = "closed", "Closed in GGUS (escalation cancelled)"


class GgusTicket(models.Model):
    """A GGUS ticket opened from an escalation to a site, and the outbox row of that call.

    ``reference`` goes into the GGUS ticket's title and first article: a retry after a
    crash searches GGUS for it before creating, so the ticket is never opened twice. Once
    open, a poll mirrors its state and new articles onto the desk's ticket. When the
    escalation is cancelled, the same row closes it in GGUS with an article saying why
    (``close_reason``), claimed and retried the same way, never written twice."""

    escalation = models.OneToOneField(
        Escalation, on_delete=models.CASCADE, related_name="ggus_ticket"
    )
    reference = models.CharField(max_length=40, unique=True, editable=False)
    state = models.CharField(max_length=8, choices=GgusState.choices, default=GgusState.TO_OPEN)
    title = models.CharField(max_length=250)
    body = models.TextField(help_text="The first article: the escalation's context.")
    site = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(help_text="When the open or the next poll is due.")
    last_error = models.TextField(blank=True)
    ggus_id = models.BigIntegerField(null=True, blank=True, help_text="Zammad's ticket id.")
    number = models.CharField(max_length=32, blank=True, help_text="The GGUS ticket number.")
    ggus_state = models.CharField(max_length=32, blank=True)
    external_ref = models.ForeignKey(
        ExternalRef, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    polled_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.TextField(blank=True, help_text="Why the desk closes it in GGUS.")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="ggus_due_steps",
                condition=models.Q(state__in=["to_open", "open", "to_close"]),
            )
        ]
        constraints = [
            # Without an id: not opened yet, never opened (failed, or cancelled before the
            # first try), or cancelled while a try may have opened it (the close searches).
            models.CheckConstraint(
                condition=models.Q(state__in=["to_open", "failed", "to_close", "ended"])
                | models.Q(ggus_id__isnull=False),
                name="ggus_opened_has_an_id",
            )
        ]

    def __str__(self) -> str:
        return f"GGUS {self.number or '(to open)'} for {self.escalation_id}"


class GgusArticle(models.Model):
    """A GGUS article already seen (mirrored as a note, or our own): seen once only."""

    ggus_ticket = models.ForeignKey(GgusTicket, on_delete=models.CASCADE, related_name="articles")
    article_id = models.BigIntegerField()
    note = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["article_id"]
        constraints = [
            models.UniqueConstraint(fields=["ggus_ticket", "article_id"], name="ggus_article_once")
        ]

    def __str__(self) -> str:
        return f"article {self.article_id} of {self.ggus_ticket_id}"
