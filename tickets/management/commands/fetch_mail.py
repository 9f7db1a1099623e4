"""The mail fetcher process (the compose service ``fetcher``).

Until the IMAP intake lands this only starts, reports that no mailbox is configured, and waits
for SIGTERM, so that the production shape already has its service.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Fetch mail from the configured IMAP mailboxes (not yet: waits for the mail issue)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="do one pass and exit")

    def handle(self, *args: object, once: bool, **options: object) -> None:
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        self.stdout.write("fetch_mail: started; no IMAP mailbox is configured yet", ending="\n")
        self.stdout.flush()
        while not once and not stop.wait(60):
            pass
        self.stdout.write("fetch_mail: stopped")
