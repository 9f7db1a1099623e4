from django.contrib import admin

from escalation.models import ExpertGroup


@admin.register(ExpertGroup)
class ExpertGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "team", "email", "cloud", "response_target_hours", "active"]
    list_filter = ["team", "kind", "active"]
    search_fields = ["name", "email"]
    raw_id_fields = ["cloud", "next_level", "calendar"]
    filter_horizontal = ["members"]
