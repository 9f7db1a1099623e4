from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from tickets import events, gridpanel, panels, tasks
        from tickets.mail import outbox

        # First among the side panels: what the ticket is about, on the grid.
        panels.register("grid", gridpanel.panel)
        # The services queue their tasks through these, so that they need not import the
        # tasks module (which imports them).
        outbox.send_later_set(tasks.outbound_send_later)
        events.nudge_set(tasks.events_nudge_task)
