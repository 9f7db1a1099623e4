from django.contrib import admin

from shifts.models import Booking, Closure, Zone


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
