from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from tickets import gridpanel, panels

        # First among the side panels: what the ticket is about, on the grid.
        panels.register("grid", gridpanel.panel)
