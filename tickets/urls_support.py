"""URLs of the support pages (filled in by the #6 work)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
