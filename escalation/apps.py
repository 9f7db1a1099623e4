from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "Escalation"

    def ready(self) -> None:
        from escalation.receivers import on_ticket_opened, on_ticket_reopened
        from tickets.signals import ticket_opened, ticket_reopened

        ticket_opened.connect(on_ticket_opened, dispatch_uid="escalation.ticket_opened")
        ticket_reopened.connect(on_ticket_reopened, dispatch_uid="escalation.ticket_reopened")
