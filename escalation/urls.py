"""Escalation actions on a ticket, under the ticket's URL."""

from django.urls import path

import tickets.urls  # noqa: F401 - registers the ticketref converter
from escalation import views, views_calendars

urlpatterns = [
    path("tickets/<ticketref:reference>/escalate/", views.escalate, name="ticket-escalate"),
    path(
        "tickets/<ticketref:reference>/escalations/<int:pk>/cancel/",
        views.cancel,
        name="escalation-cancel",
    ),
    path("tickets/<ticketref:reference>/refs/", views.add_ref, name="ticket-add-ref"),
    path("team/calendars/", views_calendars.team_calendars, name="team-calendars"),
    path("team/calendars/new/", views_calendars.calendar_edit, name="calendar-new"),
    path("team/calendars/<int:pk>/", views_calendars.calendar_edit, name="calendar-edit"),
]
