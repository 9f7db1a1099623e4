from django.contrib import admin
from django.http import HttpRequest

from dispatch.models import Handover


@admin.register(Handover)
class HandoverAdmin(admin.ModelAdmin):
    list_display = ["zone", "day", "done_at", "tickets_moved"]
    list_filter = ["zone__team", "zone"]
    date_hierarchy = "day"
    # A record of what the beat did: editing it could only hide or repeat a handover.
    readonly_fields = ["zone", "day", "done_at", "tickets_moved"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by the beat task only
