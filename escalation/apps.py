from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "Escalation"

    def ready(self) -> None:
        import escalation.steps  # noqa: F401 - registers the timer steps
        from escalation.receivers import (
            on_message_received,
            on_message_sent,
            on_status_changed,
            on_ticket_opened,
            on_ticket_reopened,
        )
        from tickets.signals import (
            message_received,
            message_sent,
            ticket_opened,
            ticket_reopened,
            ticket_status_changed,
        )

        ticket_opened.connect(on_ticket_opened, dispatch_uid="escalation.ticket_opened")
        ticket_reopened.connect(on_ticket_reopened, dispatch_uid="escalation.ticket_reopened")
        message_received.connect(on_message_received, dispatch_uid="escalation.message_received")
        message_sent.connect(on_message_sent, dispatch_uid="escalation.message_sent")
        ticket_status_changed.connect(on_status_changed, dispatch_uid="escalation.status")

        from escalation.selectors import escalated_to_groups_of, page_annotations
        from escalation.views import panel
        from tickets import access
        from tickets.panels import register

        register("escalations", panel, page_annotations)
        access.register("expert-groups", escalated_to_groups_of)
