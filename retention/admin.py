from django.contrib import admin

from retention.models import RetentionPolicy


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    list_display = ["team", "years", "anonymise_requesters", "delete_attachments", "active"]
    list_filter = ["active"]
