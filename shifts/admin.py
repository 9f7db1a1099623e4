from django.contrib import admin
from django.http import HttpRequest

from shifts.models import (
    Booking,
    CalendarFeed,
    Closure,
    CoverageAlert,
    RotationRule,
    ShiftSettings,
    SwapRequest,
    Zone,
)


@admin.register(Zone)
class ZoneAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "team",
        "starts_at",
        "duration_minutes",
        "weekdays",
        "coordinator",
    ]
    list_filter = ["team"]
    autocomplete_fields = ["coordinator"]


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = ["reason", "team", "starts_on", "ends_on"]
    list_filter = ["team"]


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["day", "zone", "person", "role", "created_at"]
    list_filter = ["zone", "role"]
    date_hierarchy = "day"
    autocomplete_fields = ["person"]


@admin.register(SwapRequest)
class SwapRequestAdmin(admin.ModelAdmin):
    list_display = ["booking", "offered_by", "asked", "in_return", "state", "created_at"]
    list_filter = ["state"]
    raw_id_fields = ["booking", "in_return"]
    autocomplete_fields = ["offered_by", "asked", "approved_by"]


@admin.register(ShiftSettings)
class ShiftSettingsAdmin(admin.ModelAdmin):
    list_display = ["team", "swaps_need_approval"]


@admin.register(RotationRule)
class RotationRuleAdmin(admin.ModelAdmin):
    list_display = ["zone", "person", "role", "weekdays_label"]
    list_filter = ["zone"]
    autocomplete_fields = ["person"]


@admin.register(CoverageAlert)
class CoverageAlertAdmin(admin.ModelAdmin):
    list_display = ["zone", "day", "alerted_on", "created_at"]
    list_filter = ["zone"]


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    list_display = ["person", "zone", "created_at"]
    # The token is the feed's only secret: not shown, not searchable.
    exclude = ["token"]
    readonly_fields = ["person", "zone", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # feeds are made on first use, with a random token
