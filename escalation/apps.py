from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "Escalation"

    def ready(self) -> None:
        from escalation.receivers import on_ticket_opened
        from tickets.signals import ticket_opened

        ticket_opened.connect(on_ticket_opened, dispatch_uid="escalation.ticket_opened")
