from django.contrib import admin

from tickets.models import Attachment, Membership, Message, Requester, Team, Ticket


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
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["team", "role"]
    search_fields = ["user__username", "user__email", "user__last_name"]
    autocomplete_fields = ["user", "team"]


@admin.register(Requester)
class RequesterAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "bouncing_since", "created_at"]
    search_fields = ["email", "name"]
    list_filter = [("bouncing_since", admin.EmptyFieldListFilter)]


class MessageInline(admin.StackedInline):
    model = Message
    extra = 0
    fields = ("kind", "sender_email", "author", "created_at", "subject", "body_text")
    readonly_fields = fields
    show_change_link = True
    can_delete = False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "subject",
        "status",
        "category",
        "priority",
        "zone",
        "assignee",
        "created_at",
    ]
    list_filter = ["team", "status", "category", "priority", "zone"]
    list_select_related = ["team", "requester", "assignee"]
    search_fields = ["subject", "requester__email", "number"]
    raw_id_fields = ["requester", "merged_into"]
    autocomplete_fields = ["assignee", "shadow"]
    readonly_fields = ["number", "reply_token", "updated_at"]
    date_hierarchy = "created_at"
    inlines = [MessageInline]

    @admin.display(description="Ticket", ordering="number")
    def reference(self, obj: Ticket) -> str:
        return obj.reference


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    readonly_fields = ["filename", "content_type", "size", "sha256", "file"]
    can_delete = False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["ticket", "kind", "sender_email", "author", "created_at"]
    list_filter = ["kind", "team"]
    list_select_related = ["ticket__team", "author"]
    search_fields = ["message_id", "sender_email", "subject"]
    raw_id_fields = ["ticket", "team"]
    readonly_fields = ["stored_at"]
    inlines = [AttachmentInline]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["filename", "content_type", "size", "message", "created_at"]
    search_fields = ["filename", "sha256"]
    raw_id_fields = ["message"]
