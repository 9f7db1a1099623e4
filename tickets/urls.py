from django.urls import path, register_converter

from tickets import views


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
    path("tickets/<ticketref:reference>/", views.ticket_detail, name="ticket-detail"),
]
