"""Demo data for ``make run``: two teams, their people, a shift month, expert groups, tickets.

Loaded once: when the demo team exists, nothing is written again. The demo logins share one
password, so the loader refuses to run on a production set-up (``DEBUG`` off) unless forced.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from dispatch.routing import ticket_route
from escalation.models import ExpertGroup, GroupKind, NextLevel
from escalation.services import first_response_arm
from grid.demo import grid_demo_load
from notifications.models import Flavour, TeamWebhook
from people.models import Role, Team, WorkingCalendar
from shifts.models import Booking, Closure, RotationRule, ShiftRole, SwapRequest, Zone
from tickets.models import OPEN_STATUSES, MessageKind, Priority, Status, Ticket
from tickets.services import Sender, ticket_add_message, ticket_open, ticket_set_status

if TYPE_CHECKING:
    from tools import mailgen

DEMO_PASSWORD = "dast-demo"  # noqa: S105 - a documented demo login, refused outside DEBUG


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    roles: tuple[Role, ...]
    zone: str = ""  # the zone whose shifts they usually take
    team: str = "dast"


PEOPLE = (
    Person("elena", "Elena", "Novak", (Role.COORDINATOR, Role.SHIFTER), "EU"),
    Person("marcus", "Marcus", "Reed", (Role.COORDINATOR,), "NA"),
    Person("anna", "Anna", "Kowalska", (Role.SHIFTER,), "EU"),
    Person("pierre", "Pierre", "Martin", (Role.SHIFTER,), "EU"),
    Person("lukas", "Lukas", "Weber", (Role.SHIFTER,), "EU"),
    Person("sofia", "Sofia", "Ramirez", (Role.SHIFTER,), "NA"),
    Person("james", "James", "Chen", (Role.SHIFTER,), "NA"),
    Person("priya", "Priya", "Nair", (Role.SHIFTER,), "NA"),
    Person("tomas", "Tomáš", "Dvořák", (Role.TRAINEE,), "EU"),
    Person("aiko", "Aiko", "Tanaka", (Role.TRAINEE,), "NA"),
    Person("claire", "Claire", "Dubois", (Role.SHIFTER, Role.COORDINATOR), "EU", "biomed"),
)
DEMO_LOGINS = (
    ("admin", "installation admin (Django admin too)"),
    ("elena", "EU coordinator and shifter, ATLAS DAST"),
    ("marcus", "NA coordinator, ATLAS DAST"),
    ("anna", "EU first-level shifter"),
    ("sofia", "NA first-level shifter"),
    ("tomas", "EU trainee shifter"),
    ("claire", "biomed VO support (another team)"),
)

EXPERT_GROUPS = (
    ("PanDA/JEDI", "atlas-adc-panda-support@cern.ch"),
    ("Rucio/DDM", "atlas-adc-ddm-support@cern.ch"),
    ("BigPanDA monitoring", "atlas-adc-monitoring@cern.ch"),
    ("AMI", "atlas-ami-support@cern.ch"),
    ("Athena", "atlas-sw-athena-support@cern.ch"),
    ("Physics Analysis Tools", "atlas-pat-support@cern.ch"),
)
CLOUDS = {
    "CERN": ("CERN-PROD",),
    "DE": ("FZK-LCG2", "DESY-HH", "LRZ-LMU"),
    "FR": ("IN2P3-CC", "GRIF-LAL"),
    "IT": ("INFN-T1", "INFN-MILANO-ATLASC"),
    "NL": ("NIKHEF-ELPROD", "SARA-MATRIX"),
    "ND": ("NDGF-T1",),
    "ES": ("PIC", "IFIC-LCG2"),
    "UK": ("RAL-LCG2", "UKI-NORTHGRID-MAN-HEP"),
    "US": ("BNL-ATLAS", "MWT2", "SWT2_CPB"),
    "CA": ("TRIUMF-LCG2", "CA-SFU-T2"),
    "TW": ("TAIWAN-LCG2",),
}
BIOMED_TICKETS = (
    (
        "VIP workflow stuck in the scheduled state on a CE",
        "Since this morning our VIP simulations stay Scheduled on ce01.example-grid.fr for hours.",
    ),
    (
        "LFC replica missing for a registered file",
        "lcg-cp says 'No such file or directory' "
        "for lfn:/grid/biomed/creatis/images/brain42.nii although the LFC lists it.",
    ),
    (
        "Proxy renewal fails with DIRAC",
        "dirac-proxy-init -g biomed_user fails with "
        "'No VOMS extension' since my certificate was renewed.",
    ),
)


def demo_is_loaded() -> bool:
    return Team.objects.filter(slug="dast").exists()


@transaction.atomic
def load_demo(*, today: date | None = None, seed: int = 2018) -> dict[str, int]:
    """Write the demo data once; returns what it wrote (empty when it was already there)."""
    if demo_is_loaded():
        return {}
    rng = random.Random(seed)
    today = today or timezone.localdate()
    dast = Team.objects.create(
        slug="dast",
        name="ATLAS DAST",
        ticket_prefix="DAST",
        support_address="hn-atlas-dist-analysis-help@cern.ch",
    )
    biomed = Team.objects.create(
        slug="biomed",
        name="biomed VO support",
        ticket_prefix="BIOMED",
        support_address="biomed-technical-support@example-grid.eu",
    )
    users = _people({"dast": dast, "biomed": biomed})
    zones = _zones(dast, users)
    Zone.objects.create(
        team=biomed, code="EU", name="Europe", starts_at=time(9), coordinator=users["claire"]
    )
    Closure.objects.create(
        team=dast,
        starts_on=date(today.year, 12, 24),
        ends_on=date(today.year + 1, 1, 2),
        reason="CERN end-of-year closure",
    )
    bookings = _calendar(zones, users, today, rng)
    _rotation(zones, users)
    groups = _expert_groups(dast)
    _us_calendar(dast, today)
    # A sample chat webhook, off: its URL would be in DAST_DEMO_WEBHOOK_URL (README, "Chat
    # webhooks"), and the demo calls nobody.
    TeamWebhook.objects.create(
        team=dast,
        name="#dast-shifters",
        flavour=Flavour.MATTERMOST,
        url_env="DAST_DEMO_WEBHOOK_URL",
        active=False,
    )
    tickets = _tickets(dast, rng)
    _escalations(dast)
    tickets += grid_demo_load(team=dast, owner=users["anna"], now=timezone.now())
    for subject, body in BIOMED_TICKETS:
        ticket_open(
            team=biomed,
            sender=Sender("m.laurent@creatis.example.fr", "Marie Laurent"),
            subject=subject,
            body_text=body,
            kind=MessageKind.EMAIL_IN,
            announce=False,
        )
    return {
        "users": len(users),
        "bookings": bookings,
        "groups": groups,
        "tickets": tickets + len(BIOMED_TICKETS),
    }


def _people(teams: dict[str, Team]) -> dict[str, User]:
    users: dict[str, User] = {}
    admin = User.objects.create_superuser("admin", "admin@dast-desk.example", DEMO_PASSWORD)
    admin.first_name, admin.last_name = "Desk", "Admin"
    admin.save()
    users["admin"] = admin
    for person in PEOPLE:
        user = User.objects.create_user(
            person.username,
            f"{person.username}@cern.ch",
            DEMO_PASSWORD,
            first_name=person.first_name,
            last_name=person.last_name,
            is_staff=Role.COORDINATOR in person.roles,
        )
        for role in person.roles:
            teams[person.team].memberships.create(user=user, role=role)
        users[person.username] = user
    return users


def _zones(team: Team, users: dict[str, User]) -> dict[str, Zone]:
    return {
        "EU": Zone.objects.create(
            team=team, code="EU", name="Europe", starts_at=time(8), coordinator=users["elena"]
        ),
        "NA": Zone.objects.create(
            team=team,
            code="NA",
            name="North America",
            starts_at=time(16),
            coordinator=users["marcus"],
        ),
    }


def _calendar(
    zones: dict[str, Zone], users: dict[str, User], today: date, rng: random.Random
) -> int:
    """Five weeks back to five weeks ahead: one first-level shifter a slot, a trainee on some,
    and a few slots left uncovered (shown red)."""
    closure = Closure.objects.get(team=zones["EU"].team)
    rota = {
        code: [
            p.username
            for p in PEOPLE
            if p.zone == code and p.team == "dast" and Role.SHIFTER in p.roles
        ]
        for code in zones
    }
    trainees = {
        code: [p.username for p in PEOPLE if p.zone == code and Role.TRAINEE in p.roles]
        for code in zones
    }
    rows = []
    for offset in range(-35, 36):
        day = today + timedelta(days=offset)
        if closure.starts_on <= day <= closure.ends_on:
            continue
        for code, zone in zones.items():
            if not zone.covers_weekday(day):
                continue
            # Future gaps are what coordinators must fill; a few past ones show in the figures.
            if rng.random() < (0.12 if offset > 0 else 0.04):
                continue
            week = day.isocalendar().week
            shifter = rota[code][week % len(rota[code])]
            rows.append(
                Booking(zone=zone, day=day, person=users[shifter], role=ShiftRole.FIRST_LEVEL)
            )
            if day.isoweekday() in (2, 4) and trainees[code]:
                rows.append(
                    Booking(
                        zone=zone, day=day, person=users[trainees[code][0]], role=ShiftRole.TRAINEE
                    )
                )
    Booking.objects.bulk_create(rows)
    _swap(users, today)
    return len(rows)


def _escalations(team: Team) -> None:
    """One ticket waiting on two groups: PanDA/JEDI, reminded already, and a site."""
    from escalation.models import Timer, TimerRun, TimerState
    from escalation.services import escalation_create
    from escalation.timers import timer_sweep
    from tickets.models import OutboundMail
    from tickets.models.mail import OutboundState

    ticket = (
        Ticket.objects.filter(team=team, assignee__isnull=False, status__in=OPEN_STATUSES)
        .order_by("number")
        .first()
    )
    if ticket is None:
        return
    now = timezone.now()
    groups = {g.name: g for g in ExpertGroup.objects.filter(team=team)}
    earlier = now - timedelta(days=3)
    panda = escalation_create(
        ticket=ticket,
        by=ticket.assignee,
        group=groups["PanDA/JEDI"],
        note="Pilots of this task die with 'lost heartbeat' on two sites; is the JEDI "
        "retry limit reached? Log excerpts are in the thread.",
        at=earlier,
    )
    OutboundMail.objects.filter(pk=panda.outbound.pk if panda.outbound else 0).update(
        state=OutboundState.SENT, sent_at=earlier
    )
    site = next(g for g in groups.values() if g.kind == GroupKind.SITE)
    escalation_create(
        ticket=ticket,
        by=ticket.assignee,
        group=site,
        note="Several jobs of this user end with stage-in errors at your site today.",
        at=now - timedelta(hours=2),
    )
    # PanDA/JEDI is past its target: the reminder went when it fell due (a sweep a few
    # seconds after the deadline, as beat runs it).
    timer = Timer.objects.get(escalation=panda, state=TimerState.ARMED)
    swept_at = timer.due_at + timedelta(seconds=3)
    timer_sweep(now=swept_at)
    TimerRun.objects.filter(timer=timer).update(ran_at=swept_at)


def _rotation(zones: dict[str, Zone], users: dict[str, User]) -> None:
    """A weekly rotation, so that "Fill <month> from the rotation" has something to show."""
    for zone, who, weekdays in (
        ("EU", "anna", "13"),
        ("EU", "pierre", "24"),
        ("EU", "lukas", "5"),
        ("NA", "sofia", "24"),
        ("NA", "james", "13"),
        ("NA", "priya", "5"),
    ):
        RotationRule.objects.create(
            zone=zones[zone], person=users[who], role=ShiftRole.FIRST_LEVEL, weekdays=weekdays
        )


def _swap(users: dict[str, User], today: date) -> None:
    """One pending swap request, so the calendar shows how they look."""
    later = Booking.objects.filter(day__gt=today + timedelta(days=7), role=ShiftRole.FIRST_LEVEL)
    mine = later.filter(person=users["lukas"]).order_by("day").first()
    theirs = later.filter(person=users["anna"]).order_by("day").first()
    if mine and theirs:
        SwapRequest.objects.create(
            booking=mine,
            offered_by=users["lukas"],
            asked=users["anna"],
            in_return=theirs,
            note="I am at the ATLAS software week that week.",
        )


def _expert_groups(team: Team) -> int:
    coordinator = ExpertGroup.objects.create(
        team=team,
        kind=GroupKind.EXPERT,
        name="DAST coordinators",
        email="atlas-dast-coordinators@cern.ch",
    )
    count = 1
    for name, email in EXPERT_GROUPS:
        ExpertGroup.objects.create(
            team=team,
            kind=GroupKind.EXPERT,
            name=name,
            email=email,
            response_target_hours=8,
            next_level=coordinator,
            next_level_kind=NextLevel.GROUP,
        )
        count += 1
    for cloud_name, sites in CLOUDS.items():
        cloud = ExpertGroup.objects.create(
            team=team,
            kind=GroupKind.CLOUD,
            name=cloud_name,
            email=f"atlas-adc-cloud-{cloud_name.lower()}@cern.ch",
            response_target_hours=16,
            next_level=coordinator,
            next_level_kind=NextLevel.GROUP,
        )
        count += 1
        for site in sites:
            ExpertGroup.objects.create(
                team=team,
                kind=GroupKind.SITE,
                name=site,
                cloud=cloud,
                email=f"{site.lower().replace('_', '-')}-support@example-grid.org",
                response_target_hours=16,
                next_level=cloud,
                next_level_kind=NextLevel.GROUP,
            )
            count += 1
    return count


def _us_calendar(team: Team, today: date) -> None:
    """The US cloud answers in New York's working hours and holidays; its sites count in
    it too (a site without a calendar uses its cloud's)."""
    holidays = []
    for year in (today.year, today.year + 1):
        first = date(year, 11, 1)
        thanksgiving = first + timedelta(days=(3 - first.weekday()) % 7 + 21)
        holidays += [f"{year}-07-04", f"{thanksgiving}", f"{year}-12-25"]
    calendar = WorkingCalendar(
        team=team,
        name="US cloud (New York)",
        weekdays="12345",
        starts_at=time(9),
        ends_at=time(17),
        time_zone="America/New_York",
        holidays="\n".join(holidays),
    )
    calendar.full_clean()
    calendar.save()
    ExpertGroup.objects.filter(team=team, kind=GroupKind.CLOUD, name="US").update(calendar=calendar)


def _tickets(team: Team, rng: random.Random) -> int:
    # The tickets are written by the archive generator, a development tool that lives in the
    # checkout (tools/, beside manage.py) and not in the production image: the demo is for
    # `make run`, and without the generator the import fails here and load_demo writes nothing.
    from tools import mailgen

    now = timezone.now()
    # About 130 messages in some 35 threads over the last three weeks; later replies are cut.
    threads = mailgen.plan_threads(
        seed=rng.randrange(1 << 30),
        count=130,
        start=(now - timedelta(days=21)).date(),
        end=now.date(),
        requesters=60,
    )
    count = 0
    for thread in threads:
        messages = [m for m in thread.messages if m.sent_at <= now and m.role != "auto"]
        if not messages:
            continue
        first = messages[0]
        ticket = ticket_open(
            team=team,
            sender=Sender(first.sender_email, first.sender_name),
            subject=thread.subject,
            body_text=first.text,
            kind=MessageKind.EMAIL_IN,
            category=thread.category,
            message_id=first.message_id,
            created_at=first.sent_at,
            priority=rng.choices(list(Priority), weights=(2, 12, 4, 1))[0],
            announce=False,
        )
        ticket_route(ticket=ticket, at=first.sent_at)  # as routing did when it arrived
        for message in messages[1:]:
            _replay(ticket, message)
        _settle(ticket, messages, now, rng)
        if ticket.first_response_at is None and ticket.status in OPEN_STATUSES:
            # As routing did when it arrived: the first answer's target runs (and has long
            # passed for the older ones, which the Overdue view shows).
            first_response_arm(ticket=ticket)
        count += 1
    return count


def _replay(ticket: Ticket, message: mailgen.Message) -> None:
    text = message.text
    if message.role == "shifter" and ticket.assignee is not None:
        author = ticket.assignee
        sender = Sender(author.email, author.get_full_name())
        kind = MessageKind.EMAIL_OUT
        # The generated shifter signs; the demo's assignee wrote it.
        text = text.replace(message.sender.name, author.get_full_name()).replace(
            message.sender.first_name, author.first_name
        )
    else:
        author, sender = None, Sender(message.sender_email, message.sender_name)
        kind = MessageKind.EMAIL_OUT if message.role == "shifter" else MessageKind.EMAIL_IN
    if message.intent == "escalate":
        # Mail to an expert group or a site is not an answer to the requester: the desk keeps
        # it as a note, as escalation_create does (the demo's live escalations are made by it).
        name, address = message.to[0]
        kind, text = MessageKind.NOTE, f"Escalated to {name} <{address}>:\n\n{text}"
    elif message.role == "expert":
        kind = MessageKind.EXPERT
    ticket_add_message(
        ticket=ticket,
        kind=kind,
        body_text=text,
        sender=sender,
        author=author,
        message_id=message.message_id,
        in_reply_to=message.in_reply_to or "",
        created_at=message.sent_at,
        announce=False,
    )


def _settle(
    ticket: Ticket, messages: list[mailgen.Message], now: datetime, rng: random.Random
) -> None:
    last = messages[-1]
    age = now - ticket.created_at
    if len(messages) >= 4 and age > timedelta(days=6):
        status = Status.CLOSED if rng.random() < 0.5 else Status.RESOLVED
    elif len(messages) == 1:
        status = Status.NEW if ticket.assignee is None or age < timedelta(hours=6) else Status.OPEN
    elif last.role == "shifter":
        status = Status.WAITING_ON_EXPERT if rng.random() < 0.3 else Status.WAITING_ON_USER
    else:
        status = Status.OPEN
    if status != ticket.status:
        ticket_set_status(ticket=ticket, status=status, at=last.sent_at)
