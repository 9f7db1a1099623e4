"""The services' health (breaker state, last success, last error) and what was fetched."""

from django.contrib import admin

from grid.models import (
    DidStatus,
    Downtime,
    GgusArticle,
    GgusTicket,
    GridStatus,
    ServiceHealth,
    Site,
    SiteAlias,
)


@admin.register(ServiceHealth)
class ServiceHealthAdmin(admin.ModelAdmin):
    fields_shown = (
        "service",
        "state",
        "failures",
        "open_until",
        "last_success_at",
        "last_error_at",
        "last_error",
        "last_duration_ms",
    )
    list_display = fields_shown
    readonly_fields = fields_shown
    actions = ["close_breaker"]

    def has_add_permission(self, request, obj=None):
        return False

    @admin.action(description="Close the breaker (try the service again now)")
    def close_breaker(self, request, queryset):
        queryset.update(state="closed", failures=0, open_until=None)


class SiteAliasInline(admin.TabularInline):
    model = SiteAlias
    extra = 0


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "gocdb_name", "cloud", "updated_at"]
    search_fields = ["name", "gocdb_name", "aliases__name"]
    inlines = [SiteAliasInline]


@admin.register(Downtime)
class DowntimeAdmin(admin.ModelAdmin):
    list_display = ["gocdb_site", "severity", "classification", "start_at", "end_at", "seen_at"]
    list_filter = ["severity", "classification"]
    search_fields = ["gocdb_site", "description"]


@admin.register(GridStatus)
class GridStatusAdmin(admin.ModelAdmin):
    list_display = ["kind", "number", "status", "site", "fetched_at", "error"]
    list_filter = ["kind", "status"]
    search_fields = ["=number"]


@admin.register(DidStatus)
class DidStatusAdmin(admin.ModelAdmin):
    list_display = ["scope", "name", "found", "did_type", "replicas", "fetched_at", "error"]
    search_fields = ["scope", "name"]


class GgusArticleInline(admin.TabularInline):
    model = GgusArticle
    extra = 0
    readonly_fields = ["article_id", "note", "created_at"]


@admin.register(GgusTicket)
class GgusTicketAdmin(admin.ModelAdmin):
    """The GGUS bridge's rows: what is waiting to be opened, and why it failed."""

    list_display = ["escalation", "state", "number", "ggus_state", "attempts", "next_attempt_at"]
    list_filter = ["state"]
    search_fields = ["number", "reference"]
    readonly_fields = [f.name for f in GgusTicket._meta.fields]
    inlines = [GgusArticleInline]

    def has_add_permission(self, request, obj=None):
        return False
