"""The grid part of the demo (``make run``, called by dast.demo): the feeds in demo_feeds/
go through the same parsers and stores as the services' answers, so nothing is downloaded
and no server is needed.

- CRIC's queues and endpoints and a GOCDB downtime (ongoing when the demo is loaded) of
  FZK-LCG2, and a ticket naming its queue: the panel shows the outage and a suggested answer;
- that ticket's JEDI task, with the status BigPanDA gave;
- a ticket escalated to RAL-LCG2 with a GGUS ticket, whose answer came back as a note and
  whose "solved" answered the escalation.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from django.contrib.auth.models import User

from escalation.models import ExpertGroup
from escalation.services import escalation_create
from grid.ggus import ggus_mirror, ggus_opened, ggus_start
from grid.models import AliasKind, GridStatus, StatusKind
from grid.parse import parse_cric, parse_downtimes, parse_task
from grid.services import downtimes_store, sites_store, ticket_mentions_index
from grid.zammad import parse_articles, parse_ticket
from people.models import Team
from tickets.models import MessageKind, Status, Ticket
from tickets.services import Sender, ticket_assign, ticket_open, ticket_set_status

FEEDS = Path(__file__).resolve().parent / "demo_feeds"
TASK = 41287730


def _feed(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def _downtimes(now: datetime) -> None:
    entries = [(e, AliasKind.QUEUE) for e in parse_cric(_feed("cric_pandaqueues.json"))]
    entries += [(e, AliasKind.RSE) for e in parse_cric(_feed("cric_ddmendpoints.json"))]
    sites_store(entries, now)
    start, end = now - timedelta(hours=3), now + timedelta(days=1, hours=6)
    xml = (
        _feed("gocdb_downtime.xml")
        .replace(b"START<", f"{int(start.timestamp())}<".encode())
        .replace(b"END<", f"{int(end.timestamp())}<".encode())
    )
    downtimes_store(parse_downtimes(xml), now)


def _ticket(team: Team, owner: User, subject: str, body: str, at: datetime) -> Ticket:
    ticket = ticket_open(
        team=team,
        sender=Sender("jdoe@cern.ch", "Jane Doe"),
        subject=subject,
        body_text=body,
        kind=MessageKind.EMAIL_IN,
        created_at=at,
        announce=False,
    )
    ticket_assign(ticket=ticket, assignee=owner)
    ticket_set_status(ticket=ticket, status=Status.OPEN, at=at)
    ticket_mentions_index(ticket=ticket)
    return ticket


def grid_demo_load(*, team: Team, owner: User, now: datetime) -> int:
    """Write the grid demo; returns how many tickets it opened."""
    _downtimes(now)
    _ticket(
        team,
        owner,
        f"Task {TASK}: jobs at ANALY_FZK fail in stage-in",
        f"Hello,\n\nall jobs of my JEDI task {TASK} fail at ANALY_FZK since this morning "
        "(stage-in from FZK-LCG2_SCRATCHDISK). Should I resubmit?\n\nJane",
        now - timedelta(hours=1),
    )
    task = parse_task(_feed("bigpanda_task.json"))
    GridStatus.objects.update_or_create(
        kind=StatusKind.TASK,
        number=TASK,
        defaults={
            "found": True,
            "status": task.status,
            "site": task.site,
            "errors": [list(e) for e in task.errors],
            "fetched_at": now,
        },
    )
    ral = _ticket(
        team,
        owner,
        "Transfers to RAL-LCG2-ECHO_DATADISK fail with checksum errors",
        "Hi,\n\nthe outputs of my jobs never arrive at RAL-LCG2-ECHO_DATADISK: FTS says "
        "'checksum mismatch'. Could someone look?\n\nJane",
        now - timedelta(hours=5),
    )
    esc = escalation_create(
        ticket=ral,
        by=owner,
        group=ExpertGroup.objects.get(team=team, name="RAL-LCG2"),
        note="Transfers to your Echo endpoint fail with checksum mismatches since this "
        "morning; could you check the gateways?",
        at=now - timedelta(hours=4),
    )
    # The GGUS ticket as the bridge opened it and the poll read it back (a fake GGUS).
    row = ggus_start(esc, now - timedelta(hours=4))
    reference = row.reference.encode()
    answered = parse_ticket(_feed("ggus_ticket.json").replace(b"REFERENCE", reference))
    ggus_opened(row=row, found=replace(answered, state="new"), now=now - timedelta(hours=4))
    articles = parse_articles(_feed("ggus_articles.json").replace(b"REFERENCE", reference))
    ggus_mirror(pk=row.pk, found=answered, articles=articles, now=now - timedelta(minutes=20))
    return 2
