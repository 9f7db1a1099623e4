"""URLs of the public support request form."""

from django.urls import path

from tickets import views_support

urlpatterns = [
    path("support/new/", views_support.support_new, name="support-new"),
    path("support/thanks/", views_support.support_thanks, name="support-thanks"),
]
