from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from tickets.models import (
    Attachment,
    DeliveryState,
    EventDelivery,
    Mailbox,
    Message,
    OutboundMail,
    OutboundState,
    RawMessage,
    RawState,
    Requester,
    Tag,
    Ticket,
    TicketEvent,
    TicketLink,
)


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
    filter_horizontal = ["tags"]
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


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "team"]
    list_filter = ["team"]
    search_fields = ["name"]


@admin.register(TicketLink)
class TicketLinkAdmin(admin.ModelAdmin):
    list_display = ["from_ticket", "kind", "to_ticket", "created_at"]
    raw_id_fields = ["from_ticket", "to_ticket"]


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "team",
        "username",
        "host",
        "folder",
        "active",
        "last_uid",
        "last_fetch_at",
        "last_error",
    ]
    list_filter = ["team", "active"]
    readonly_fields = [
        "uidvalidity",
        "last_uid",
        "lease_owner",
        "lease_expires_at",
        "last_fetch_at",
        "last_error",
    ]


@admin.register(RawMessage)
class RawMessageAdmin(admin.ModelAdmin):
    """Every mail as it came. Failed ones are here for an admin to look at and retry."""

    list_display = ["received_at", "team", "source", "state", "message_id", "size", "note"]
    list_filter = ["state", "source", "team"]
    search_fields = ["message_id", "sha256", "origin"]
    readonly_fields = [
        "team",
        "source",
        "mailbox",
        "uidvalidity",
        "uid",
        "origin",
        "message_id",
        "sha256",
        "size",
        "state",
        "note",
        "received_at",
        "processed_at",
        "raw_text",
    ]
    exclude = ["raw"]
    actions = ["reprocess"]

    @admin.display(description="Raw message (first 20 kB)")
    def raw_text(self, obj: RawMessage) -> str:
        return bytes(obj.raw[:20_000]).decode("utf-8", errors="replace")

    @admin.action(description="Process again")
    def reprocess(self, request: HttpRequest, queryset: QuerySet[RawMessage]) -> None:
        from tickets.mail.intake import raw_process

        done = 0
        for raw in queryset.filter(state=RawState.FAILED):
            RawMessage.objects.filter(pk=raw.pk).update(state=RawState.NEW)
            raw.state = RawState.NEW
            raw_process(raw, received_at=timezone.now())
            done += 1
        self.message_user(request, f"{done} failed message(s) processed again.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(OutboundMail)
class OutboundMailAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "kind",
        "to",
        "subject",
        "state",
        "attempts",
        "sent_at",
        "last_error",
    ]
    list_filter = ["state", "kind", "team"]
    search_fields = ["to", "subject", "message_id"]
    raw_id_fields = ["ticket"]
    readonly_fields = ["state", "attempts", "claimed_until", "sent_at", "last_error", "message_id"]
    actions = ["retry_now"]

    @admin.action(description="Retry now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboundMail]) -> None:
        count = queryset.filter(state__in=[OutboundState.PENDING, OutboundState.FAILED]).update(
            state=OutboundState.PENDING, next_attempt_at=timezone.now()
        )
        self.message_user(request, f"{count} mail(s) will be sent at the next sweep.")


@admin.register(TicketEvent)
class TicketEventAdmin(admin.ModelAdmin):
    """The log is append-only: read here, never changed."""

    list_display = ["at", "ticket", "kind", "actor_kind", "actor_label"]
    list_filter = ["kind", "actor_kind", "team"]
    search_fields = ["ticket__subject", "actor_label"]
    list_select_related = ["ticket__team"]
    readonly_fields = [f.name for f in TicketEvent._meta.fields]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(EventDelivery)
class EventDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "consumer", "state", "attempts", "due_at", "done_at", "last_error"]
    list_filter = ["state", "consumer"]
    list_select_related = ["event"]
    readonly_fields = [f.name for f in EventDelivery._meta.fields]
    actions = ["send_round_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Send round again (failed deliveries)")
    def send_round_again(self, request: HttpRequest, queryset: QuerySet[EventDelivery]) -> None:
        from tickets.events import delivery_retry

        failed = list(queryset.filter(state=DeliveryState.FAILED))
        for delivery in failed:
            delivery_retry(delivery=delivery)
        self.message_user(request, f"{len(failed)} sent round again.")
