"""The reports API under /api/v1/reports/."""

from django.urls import path

from reports import api

urlpatterns = [
    path("<str:figure>/", api.figure_detail, name="reports-api-figure"),
]
