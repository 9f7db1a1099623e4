"""URLs of the requester's page: /my/ and below."""

from django.urls import path, re_path

from tickets import views_requester as views

urlpatterns = [
    path("my/", views.home, name="requester-home"),
    path("my/signin/", views.signin_request, name="requester-signin-request"),
    path("my/link-sent/", views.link_sent, name="requester-link-sent"),
    path("my/signin/<str:token>/", views.signin, name="requester-signin"),
    path("my/signout/", views.signout, name="requester-signout"),
    re_path(
        r"^my/tickets/(?P<reference>[A-Z][A-Z0-9]{1,9}-[0-9]{1,9})/$",
        views.ticket_page,
        name="requester-ticket",
    ),
    path("my/attachments/<int:pk>/", views.attachment, name="requester-attachment"),
]
