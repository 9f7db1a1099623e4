from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from accounts.models import AuditEntry, MappingRule, RuleGrant


@admin.register(MappingRule)
class MappingRuleAdmin(admin.ModelAdmin):
    list_display = ["provider", "claim", "value", "team", "role"]
    list_filter = ["provider", "team", "role"]
    search_fields = ["claim", "value"]


@admin.register(RuleGrant)
class RuleGrantAdmin(admin.ModelAdmin):
    list_display = ["membership", "provider", "created_at"]
    list_filter = ["provider"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only. "Export CSV" downloads what the filters show."""

    list_display = ["at", "kind", "via", "actor_name", "address", "subject"]
    list_filter = ["kind", "via", ("at", admin.DateFieldListFilter)]
    search_fields = ["subject", "actor_name", "address"]
    date_hierarchy = "at"
    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)
