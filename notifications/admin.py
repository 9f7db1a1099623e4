from django.contrib import admin

from notifications.models import Notification, ShiftDigest, TeamWebhook, WebhookPost


@admin.register(TeamWebhook)
class TeamWebhookAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "flavour", "url_env", "new_tickets", "overdue", "active")
    list_filter = ("team", "active")


@admin.register(WebhookPost)
class WebhookPostAdmin(admin.ModelAdmin):
    list_display = ("hook", "kind", "ticket", "state", "attempts", "created_at", "sent_at")
    list_filter = ("state", "kind")
    readonly_fields = [f.name for f in WebhookPost._meta.fields]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "text", "at", "read_at")
    list_filter = ("kind",)
    readonly_fields = [f.name for f in Notification._meta.fields]


@admin.register(ShiftDigest)
class ShiftDigestAdmin(admin.ModelAdmin):
    list_display = ("zone", "day", "gap_from", "items", "done_at")
