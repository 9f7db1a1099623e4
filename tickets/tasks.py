"""Thin Celery tasks: load, call one service, return."""

from celery import shared_task

from tickets.services.outbox import outbound_due_ids, outbound_send


@shared_task(name="tickets.tasks.outbound_send_task")
def outbound_send_task(outbound_id: int) -> bool:
    return outbound_send(outbound_id)


@shared_task(name="tickets.tasks.outbox_sweep_task")
def outbox_sweep_task() -> int:
    """Enqueue every outbox row that is due: retries, and rows whose task was lost."""
    due = outbound_due_ids()
    for outbound_id in due:
        outbound_send_task.delay(outbound_id)
    return len(due)


@shared_task(name="tickets.tasks.mail_poll_task")
def mail_poll_task() -> int:
    """The embedded set-up's fetcher: one pass per mailbox whose lease is free (a running
    ``fetch_mail`` process holds the lease, and then this does nothing)."""
    from tickets.models import Mailbox
    from tickets.services.fetch import mailbox_poll, raw_process_pending

    for mailbox in Mailbox.objects.filter(active=True).select_related("team"):
        mailbox_poll(mailbox)
    return raw_process_pending()
