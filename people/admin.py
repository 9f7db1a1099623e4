from django.contrib import admin

from people.models import Membership, Team, WorkingCalendar


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "ticket_prefix", "support_address", "time_zone"]
    search_fields = ["name", "slug", "ticket_prefix"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["last_ticket_number", "created_at"]
    raw_id_fields = ["calendar"]
    inlines = [MembershipInline]


@admin.register(WorkingCalendar)
class WorkingCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "label", "time_zone"]
    list_filter = ["team"]
    search_fields = ["name"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["team", "role"]
    search_fields = ["user__username", "user__email", "user__last_name"]
    autocomplete_fields = ["user", "team"]
