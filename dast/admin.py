from django.contrib import admin

from dast.models import Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "beat_at", "count"]
    readonly_fields = ["name", "beat_at", "count"]
