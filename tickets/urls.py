from django.urls import path, register_converter

from tickets import views, views_actions, views_canned, views_presence


class TicketReferenceConverter:
    regex = r"[A-Z][A-Z0-9]{1,9}-[0-9]+"

    def to_python(self, value: str) -> tuple[str, int]:
        prefix, number = value.rsplit("-", 1)
        return prefix, int(number)

    def to_url(self, value: tuple[str, int] | str) -> str:
        return value if isinstance(value, str) else f"{value[0]}-{value[1]}"


register_converter(TicketReferenceConverter, "ticketref")

urlpatterns = [
    path("", views.home, name="home"),
    path("tickets/", views.ticket_list, name="ticket-list"),
    path("tickets/bulk/", views.ticket_bulk, name="ticket-bulk"),
    path("canned/", views_canned.canned_list, name="canned-list"),
    path("canned/new/", views_canned.canned_edit, name="canned-new"),
    path("canned/<int:pk>/", views_canned.canned_edit, name="canned-edit"),
    path("tickets/<ticketref:reference>/", views.ticket_detail, name="ticket-detail"),
    path(
        "tickets/<ticketref:reference>/older/",
        views.ticket_thread_older,
        name="ticket-thread-older",
    ),
    path("tickets/<ticketref:reference>/history/", views.ticket_history, name="ticket-history"),
    path("tickets/<ticketref:reference>/reply/", views_actions.reply, name="ticket-reply"),
    path("tickets/<ticketref:reference>/writing/", views_presence.writing, name="ticket-writing"),
    path(
        "tickets/<ticketref:reference>/presence/", views_presence.presence, name="ticket-presence"
    ),
    path("tickets/<ticketref:reference>/note/", views_actions.note, name="ticket-note"),
    path("tickets/<ticketref:reference>/update/", views_actions.update, name="ticket-update"),
    path("tickets/<ticketref:reference>/assign/", views_actions.assign, name="ticket-assign"),
    path("tickets/<ticketref:reference>/merge/", views_actions.merge, name="ticket-merge"),
    path("tickets/<ticketref:reference>/link/", views_actions.link, name="ticket-link"),
    path(
        "tickets/<ticketref:reference>/drafts/<int:pk>/",
        views_actions.draft,
        name="ticket-draft",
    ),
    path(
        "tickets/<ticketref:reference>/attachments/<int:pk>/",
        views_actions.attachment,
        name="ticket-attachment",
    ),
]
