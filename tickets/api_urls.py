"""The tickets API under /api/v1/tickets/ (tickets/api.py)."""

from django.urls import path

# Importing the pages' URLconf registers the "ticketref" converter (DAST-1234) once.
import tickets.urls  # noqa: F401
from tickets import api

urlpatterns = [
    path("", api.ticket_list, name="tickets-api-tickets"),
    path("search/", api.ticket_search_view, name="tickets-api-search"),
    path("<ticketref:reference>/", api.ticket_detail, name="tickets-api-ticket"),
    path("<ticketref:reference>/messages/", api.message_list, name="tickets-api-messages"),
    path("<ticketref:reference>/reply/", api.reply, name="tickets-api-reply"),
    path("<ticketref:reference>/note/", api.note, name="tickets-api-note"),
    path(
        "<ticketref:reference>/attachments/<int:pk>/",
        api.attachment,
        name="tickets-api-attachment",
    ),
]
