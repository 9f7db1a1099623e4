from django.contrib import admin
from django.http import HttpRequest

from escalation.models import ExpertGroup, Handover


@admin.register(ExpertGroup)
class ExpertGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "team", "email", "cloud", "response_target_hours", "active"]
    list_filter = ["team", "kind", "active"]
    search_fields = ["name", "email"]
    raw_id_fields = ["cloud", "next_level"]
    filter_horizontal = ["members"]


@admin.register(Handover)
class HandoverAdmin(admin.ModelAdmin):
    list_display = ["zone", "day", "done_at", "tickets_moved"]
    list_filter = ["zone__team", "zone"]
    date_hierarchy = "day"
    # A record of what the beat did: editing it could only hide or repeat a handover.
    readonly_fields = ["zone", "day", "done_at", "tickets_moved"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by the beat task only
