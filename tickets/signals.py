"""What ``tickets`` announces. Sent after commit; the listeners live in the apps that care."""

from django.dispatch import Signal

# sender=Ticket, ticket=<Ticket>
ticket_opened = Signal()
# sender=Message, message=<Message>
message_received = Signal()
