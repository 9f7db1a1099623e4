"""The grid fragments of the ticket page."""

from django.urls import path

import tickets.urls  # noqa: F401 - registers the ticketref converter
from grid import views

urlpatterns = [
    path("tickets/<ticketref:reference>/grid-status/", views.status_fragment, name="grid-status"),
]
