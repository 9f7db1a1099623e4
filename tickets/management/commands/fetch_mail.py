"""The mail fetcher process (the compose service ``fetcher``).

One thread per active mailbox, each holding the mailbox's lease, waiting with IMAP IDLE and
reconnecting with backoff. SIGTERM or Ctrl-C stops them at their next wait.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connection

from tickets.mail.fetch import MailboxWatcher, mailbox_poll
from tickets.models import Mailbox


class Command(BaseCommand):
    help = "Fetch mail from the active IMAP mailboxes into tickets, until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass per mailbox, then exit")
        parser.add_argument("--mailbox", action="append", default=[], help="only these (names)")
        parser.add_argument("--idle-seconds", type=float, default=10)
        parser.add_argument("--poll-seconds", type=float, default=30)

    def handle(
        self,
        *args: object,
        once: bool,
        mailbox: list[str],
        idle_seconds: float,
        poll_seconds: float,
        **options: object,
    ) -> None:
        mailboxes = Mailbox.objects.filter(active=True).select_related("team")
        if mailbox:
            mailboxes = mailboxes.filter(name__in=mailbox)
        boxes = list(mailboxes)
        if once:
            for box in boxes:
                result = mailbox_poll(box)
                self.stdout.write(f"fetch_mail: {box.name}: {result or 'busy or failed'}")
            return
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        watchers = [
            MailboxWatcher(box, idle_seconds=idle_seconds, poll_seconds=poll_seconds)
            for box in boxes
        ]
        threads = [
            threading.Thread(target=_run, args=(w,), name=w.mailbox.name, daemon=True)
            for w in watchers
        ]
        for thread in threads:
            thread.start()
        names = ", ".join(b.name for b in boxes) or "none configured"
        self.stdout.write(f"fetch_mail: started; mailboxes: {names}")
        self.stdout.flush()
        dead: list[str] = []
        while not stop.wait(1) and not dead:
            dead = [t.name for t in threads if not t.is_alive()]
        for watcher in watchers:
            watcher.stop()
        for thread in threads:
            thread.join(timeout=30)
        connection.close()
        if dead:
            # A watcher only ends when told to: one that died took its mailbox with it. Exit
            # non-zero so that the supervisor starts a fresh fetcher.
            raise CommandError(f"fetch_mail: the watcher of {', '.join(dead)} died; exiting")
        self.stdout.write("fetch_mail: stopped")


def _run(watcher: MailboxWatcher) -> None:
    close_old_connections()
    try:
        watcher.run()
    finally:
        connection.close()
