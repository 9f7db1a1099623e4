"""Real processes for the intake reliability tests (``tests/test_reliability_intake.py``): the
timer tests' desk (``tests/timerproc.py``: its own PostgreSQL and Redis, a worker, beat, an
SMTP sink) with a Dovecot mailbox, the ``fetch_mail`` process and gunicorn serving /healthz.
The desk is set up by a child process through the desk's services; what happened is read
back with plain SQL.

    python -m tests.intakeproc setup --imap-host H --imap-port P --imap-user U --imap-folder F
    python -m tests.intakeproc acknowledged --count 1000   # web tickets, acknowledged

The team is on shift around the clock (one zone of 24 hours, seven days, booked from
yesterday to tomorrow), so every new ticket is routed to its shifter whatever the hour the
test runs at, and gets its first-answer timer.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.mailfactory import make_mail
from tests.mailservers import ImapMailbox, SmtpSink
from tests.procs import PYTHON, ROOT, running
from tests.servers import free_port
from tests.timerproc import Desk, Proc, _rows

SHIFTER = "anna"


class IntakeDesk(Desk):
    """A desk whose mail comes from ``imap`` (its mailbox's password in the environment)."""

    def __init__(
        self, *, imap: ImapMailbox, db_url: str, broker_url: str, sink: SmtpSink, folder: Path
    ) -> None:
        super().__init__(db_url=db_url, broker_url=broker_url, sink=sink, folder=folder)
        self.imap = imap
        self.env["DAST_TEST_IMAP_PW"] = imap.password
        self.sent = 0

    def _child(self, *args: str) -> str:
        done = subprocess.run(
            [PYTHON, "-m", "tests.intakeproc", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise AssertionError(f"tests.intakeproc {args[0]} failed:\n{done.stderr[-4000:]}")
        return done.stdout

    def set_up(self) -> None:
        server, user, _password, folder = self.imap
        self._child(
            "setup",
            *("--imap-host", server.host, "--imap-port", str(server.port)),
            *("--imap-user", user, "--imap-folder", folder),
        )

    def open_acknowledged(self, count: int) -> None:
        """``count`` tickets opened on the web form, their acknowledgements in the outbox."""
        self._child("acknowledged", "--count", str(count))

    def mail(self, count: int) -> list[int]:
        """Append ``count`` new requests (each from a requester of its own) to the mailbox."""
        server, user, password, folder = self.imap
        first, self.sent = self.sent, self.sent + count
        raws = [
            make_mail(
                sender=(f"User {n}", f"user{n}@example.org"),
                subject=f"Request {n}: task {15934870 + n} exhausted",
            )
            for n in range(first, self.sent)
        ]
        return server.append_many(user, password, raws, folder)

    @contextlib.contextmanager
    def fetcher(self, name: str = "fetcher") -> Iterator[Proc]:
        args = [PYTHON, "manage.py", "fetch_mail", "--idle-seconds", "1"]
        with running(args, self.named(name), self.folder / f"{name}.log") as process:
            yield Proc(process, self.folder / f"{name}.log", "fetch_mail: started")

    @contextlib.contextmanager
    def web(self) -> Iterator[Web]:
        """gunicorn as docker-compose runs it (one worker is enough here)."""
        port = free_port()
        args = [
            *(PYTHON, "-m", "gunicorn", "dast.wsgi:application"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60"),
        ]
        log = self.folder / "web.log"
        with running(args, self.named("web"), log) as process:
            yield Web(Proc(process, log, "Booting worker"), f"http://127.0.0.1:{port}")

    def state(self) -> IntakeState:
        return intake_state(self.db_url)


@dataclass
class Web:
    proc: Proc
    url: str

    def healthz(self) -> tuple[int, dict[str, object]]:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=30) as response:  # noqa: S310
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


@dataclass(frozen=True)
class TicketRow:
    ref: str
    routed: bool  # given to the shifter on shift
    acks: int  # acknowledgement rows in the outbox
    first_answer_timers: int


@dataclass
class IntakeState:
    raws: Counter[str]  # raw mail by state
    tickets: list[TicketRow]
    deliveries: Counter[str]  # event deliveries by state

    @property
    def stored(self) -> int:
        return sum(self.raws.values())

    def settled(self, mails: int) -> bool:
        """Every mail filed and every reaction to it done."""
        return (
            self.raws.get("processed", 0) == mails
            and len(self.tickets) == mails
            and set(self.deliveries) <= {"done"}
        )


def intake_state(db_url: str) -> IntakeState:
    raws = Counter(
        dict(_rows(db_url, "SELECT state, count(*) FROM tickets_rawmessage GROUP BY state"))
    )
    deliveries = Counter(
        dict(_rows(db_url, "SELECT state, count(*) FROM tickets_eventdelivery GROUP BY state"))
    )
    tickets = [
        TicketRow(*row)
        for row in _rows(
            db_url,
            "SELECT t.ticket_prefix || '-' || k.number, k.assignee_id IS NOT NULL,"
            " (SELECT count(*) FROM tickets_outboundmail o"
            "   WHERE o.ticket_id = k.id AND o.kind = 'ack'),"
            " (SELECT count(*) FROM escalation_timer m"
            "   WHERE m.ticket_id = k.id AND m.kind = 'first_response')"
            " FROM tickets_ticket k JOIN tickets_team t ON t.id = k.team_id ORDER BY k.id",
        )
    ]
    return IntakeState(raws, tickets, deliveries)


def in_the_middle_of_a_batch(db_url: str, process_name: str) -> bool:
    """True while the named process's transaction has written some of a batch's effects and
    waits for its next statement, which is not the one that marks the batch done."""
    rows = _rows(
        db_url,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        " AND state = 'idle in transaction' AND backend_xid IS NOT NULL"
        " AND query ~ '^(INSERT|UPDATE)'"
        ' AND query NOT LIKE \'UPDATE "tickets_eventdelivery" SET "state"%%\'',
        (process_name,),
    )
    return bool(rows[0][0])


def queued_tasks(client: redis.Redis, queues: list[str]) -> Counter[tuple[str, str]]:
    """Tasks waiting in each Celery queue of a Redis broker, by (queue, task name): its list,
    and kombu's lists of the same queue at other priorities (``name\\x06\\x16N``)."""
    found: Counter[tuple[str, str]] = Counter()
    for queue in queues:
        for key in [queue, *(f"{queue}\x06\x16{n}" for n in range(1, 10))]:
            for raw in client.lrange(key, 0, -1):
                found[queue, json.loads(raw)["headers"]["task"]] += 1
    return found


# --- the builder (run in a child process with Django set up) --------------------------------


def setup(*, imap_host: str, imap_port: int, imap_user: str, imap_folder: str) -> None:
    from datetime import time, timedelta
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from people.models import Role
    from shifts.models import Booking, ShiftRole, Zone
    from tests.factories import shift_team
    from tickets.models import Mailbox

    team = shift_team({SHIFTER: Role.SHIFTER, "elena": Role.COORDINATOR})
    Zone.objects.filter(team=team).exclude(code="EU").delete()
    Zone.objects.filter(team=team, code="EU").update(
        starts_at=time(0), duration_minutes=24 * 60, weekdays="1234567"
    )
    today = timezone.now().astimezone(ZoneInfo(team.time_zone)).date()
    zone = Zone.objects.get(team=team, code="EU")
    for days in (-1, 0, 1):
        Booking.objects.create(
            zone=zone,
            day=today + timedelta(days=days),
            person=team.people[SHIFTER],
            role=ShiftRole.FIRST_LEVEL,
        )
    Mailbox.objects.create(
        team=team,
        name="desk",
        host=imap_host,
        port=imap_port,
        security="none",
        username=imap_user,
        password_env="DAST_TEST_IMAP_PW",
        folder=imap_folder,
        addresses="dast-desk@cern.ch",
    )


def open_acknowledged(count: int) -> None:
    """Tickets opened on the web form, each from a requester of its own, and acknowledged as
    routing does (the acknowledgement waits in the outbox), in one commit."""
    from django.db import transaction

    from dispatch.acknowledgement import ticket_acknowledge
    from people.models import Team
    from tickets.services import Sender, ticket_open

    team = Team.objects.get(slug="dast")
    with transaction.atomic():
        for n in range(count):
            ticket = ticket_open(
                team=team,
                sender=Sender(f"web{n}@example.org", f"Web User {n}"),
                subject=f"Web request {n}: task {25934870 + n} exhausted",
                body_text="All jobs fail with lost heartbeat.",
                announce=False,
            )
            ticket_acknowledge(ticket=ticket, when="A shifter will look at it shortly.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Set up the intake reliability tests' desk.")
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("setup")
    for name in ("host", "port", "user", "folder"):
        one.add_argument(f"--imap-{name}", required=True, type=int if name == "port" else str)
    commands.add_parser("acknowledged").add_argument("--count", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dast.settings")
    import django

    django.setup()
    if args.command == "setup":
        setup(
            imap_host=args.imap_host,
            imap_port=args.imap_port,
            imap_user=args.imap_user,
            imap_folder=args.imap_folder,
        )
    else:
        open_acknowledged(args.count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
