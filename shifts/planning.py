"""The coordinators' fast ways to fill the calendar: rotation rules applied to a month,
a week or a month copied onto another, several selected slots given to one person; and the
team's calendar settings. Only a team's coordinators may use them (``ShiftForbidden``).

A plan is made from a ``PlanSpec`` twice: once for the preview (``plan_make``, a read) and
again when it is applied (``plan_apply``), under the zones' row locks, which books only if
it still books what the preview showed (the fingerprint), so a booking made meanwhile is
never overwritten nor doubled unseen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from people.models import Membership, Team
from people.names import display_name
from shifts import plan
from shifts.models import Booking, Closure, RotationRule, ShiftRole, ShiftSettings, Zone
from shifts.rules import ROLE_NEEDS, ShiftError, check_role, require_coordinator
from shifts.selectors import zone_hours

PlanKind = Literal["rotation", "copy-week", "copy-month"]
WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass(frozen=True)
class PlanSpec:
    """What to plan. ``target``: the month's first day (rotation, copy-month) or the week's
    Monday (copy-week); ``source`` likewise for copies; ``zone``: a zone's code, or "" for
    every zone of the team."""

    kind: PlanKind
    target: date
    source: date | None = None
    zone: str = ""

    @property
    def target_last(self) -> date:
        if self.kind == "copy-week":
            return self.target + timedelta(days=6)
        return plan.month_last(self.target)


@dataclass
class PlanLine:
    zone: Zone
    day: date
    person: User
    role: str
    outcome: plan.Outcome
    holders: list[User] = field(default_factory=list)
    source_day: date | None = None

    @property
    def why(self) -> str:
        """What the preview says of a line that books nothing."""
        holders = ", ".join(display_name(p) for p in self.holders)
        role = ShiftRole(self.role).label.lower()
        return {
            plan.Outcome.NEW: "",
            plan.Outcome.ALREADY: "already booked so",
            plan.Outcome.CONFLICT: f"conflict: {holders} already booked there, kept",
            plan.Outcome.NO_SHIFT: f"{self.zone.code} has no shift that day",
            plan.Outcome.CLOSED: "closed that day",
            plan.Outcome.PAST: "the slot has started",
            plan.Outcome.NO_ROLE: f"{display_name(self.person)} is not a {role} now",
            plan.Outcome.TRAINEE_ALONE: "no first-level shifter for the trainee to shadow",
        }[self.outcome]


@dataclass
class Plan:
    spec: PlanSpec | None  # None: a selection of slots
    lines: list[PlanLine]
    fingerprint: str
    left_out: list[PlanLine] = field(default_factory=list)  # copies: no counterpart day

    @property
    def new(self) -> list[PlanLine]:
        return [line for line in self.lines if line.outcome == plan.Outcome.NEW]

    @property
    def conflicts(self) -> list[PlanLine]:
        return [line for line in self.lines if line.outcome == plan.Outcome.CONFLICT]

    @property
    def unbookable(self) -> list[PlanLine]:
        """Lines that book nothing for another reason than a conflict."""
        skip = (plan.Outcome.NEW, plan.Outcome.CONFLICT)
        return [line for line in self.lines if line.outcome not in skip]

    @property
    def skipped(self) -> list[PlanLine]:
        return [line for line in self.lines if line.outcome != plan.Outcome.NEW]


def _zones(team: Team, code: str) -> list[Zone]:
    zones = list(Zone.objects.filter(team=team).select_related("coordinator"))
    for zone in zones:
        zone.team = team
    if code:
        zones = [z for z in zones if z.code == code]
        if not zones:
            raise ShiftError(f"{team.name} has no zone {code}.", field="zone")
    return zones


def _calendar(
    team: Team, zones: list[Zone], first: date, last: date, at: datetime
) -> plan.Calendar:
    closures = list(
        Closure.objects.filter(team=team, starts_on__lte=last, ends_on__gte=first).values_list(
            "starts_on", "ends_on"
        )
    )
    booked: dict[tuple[str, date], list[tuple[int, str]]] = defaultdict(list)
    for code, day, person, role in Booking.objects.filter(
        zone__in=zones, day__gte=first, day__lte=last
    ).values_list("zone__code", "day", "person", "role"):
        booked[code, day].append((person, role))
    roles: dict[int, set[str]] = defaultdict(set)
    by_team_role = {needed.value: role.value for role, needed in ROLE_NEEDS.items()}
    for user_id, team_role in Membership.objects.filter(
        team=team, role__in=list(by_team_role)
    ).values_list("user", "role"):
        roles[user_id].add(by_team_role[team_role])
    return plan.Calendar(
        zones={z.code: zone_hours(z) for z in zones},
        tz=ZoneInfo(team.time_zone),
        closures=closures,
        bookings=booked,
        roles={person: frozenset(r) for person, r in roles.items()},
        now=at,
    )


def _proposals(
    team: Team, spec: PlanSpec, zones: list[Zone]
) -> tuple[list[plan.Proposal], list[plan.Proposal]]:
    if spec.kind == "rotation":
        rules = RotationRule.objects.filter(zone__in=zones).select_related("zone")
        quads = [(r.zone.code, r.person_id, r.role, r.weekday_set) for r in rules]
        return plan.rotation(quads, spec.target, spec.target_last), []
    assert spec.source is not None
    if spec.kind == "copy-week":
        days = plan.week_days(spec.source, spec.target)
    else:
        days = plan.month_days(spec.source, spec.target)
    last = spec.source + timedelta(days=6)
    if spec.kind == "copy-month":
        last = plan.month_last(spec.source)
    source = Booking.objects.filter(zone__in=zones, day__gte=spec.source, day__lte=last)
    return plan.copied(source.values_list("zone__code", "day", "person", "role"), days)


def _check_spec(spec: PlanSpec) -> None:
    if spec.kind == "copy-week" and (
        spec.target.isoweekday() != 1 or spec.source is None or spec.source.isoweekday() != 1
    ):
        raise ShiftError("A week is copied from a Monday onto a Monday.", field="target")
    if spec.kind != "copy-week" and spec.target.day != 1:
        raise ShiftError("A month starts on its first day.", field="target")
    if spec.kind != "rotation" and spec.source == spec.target:
        raise ShiftError("Copy onto another week or month than the one copied.", field="target")


def plan_make(*, team: Team, spec: PlanSpec, at: datetime | None = None) -> Plan:
    """What applying ``spec`` would book, and what it would leave alone and why."""
    at = at or timezone.now()
    _check_spec(spec)
    zones = _zones(team, spec.zone)
    proposals, left_out = _proposals(team, spec, zones)
    calendar = _calendar(team, zones, spec.target, spec.target_last, at)
    lines = plan.check(proposals, calendar)
    people = {
        u.pk: u
        for u in User.objects.filter(
            pk__in={p.person for p in proposals + left_out}
            | {h for ln in lines for h in ln.holders}
        )
    }
    by_code = {z.code: z for z in zones}

    def line(p: plan.Proposal, outcome: plan.Outcome, holders: Sequence[int] = ()) -> PlanLine:
        return PlanLine(
            by_code[p.zone],
            p.day,
            people[p.person],
            p.role,
            outcome,
            [people[h] for h in holders],
            p.source_day,
        )

    return Plan(
        spec,
        [line(ln.proposal, ln.outcome, ln.holders) for ln in lines],
        plan.fingerprint(lines),
        [line(p, plan.Outcome.NO_SHIFT) for p in left_out],
    )


def plan_apply(
    *, team: Team, spec: PlanSpec, fingerprint: str, by: User, at: datetime | None = None
) -> Plan:
    """Book the plan's new lines in one transaction, if the plan is still the one previewed
    (else ``ShiftError``: nothing is written). Returns the plan applied."""
    at = at or timezone.now()
    require_coordinator(team, by, "fill the calendar")
    with transaction.atomic():
        # The zone row locks order this against single bookings and releases (which take
        # the same locks): the plan checked below is the calendar it writes on.
        list(Zone.objects.select_for_update().filter(team=team).order_by("pk"))
        made = plan_make(team=team, spec=spec, at=at)
        if made.fingerprint != fingerprint:
            raise ShiftError(
                "The calendar changed since the preview: look at the new preview before "
                "applying it.",
                field="fingerprint",
            )
        Booking.objects.bulk_create(
            [Booking(zone=ln.zone, day=ln.day, person=ln.person, role=ln.role) for ln in made.new]
        )
    return made


def slots_assign(
    *,
    team: Team,
    slots: Sequence[tuple[str, date]],
    person: User,
    role: str,
    by: User,
    at: datetime | None = None,
) -> Plan:
    """Book ``person`` on every selected slot (zone code, day) where the calendar allows;
    the plan's other lines say why a slot was left alone. One transaction."""
    at = at or timezone.now()
    require_coordinator(team, by, "assign people")
    if role not in ShiftRole.values:
        raise ShiftError(f"Unknown role {role!r}.", field="person")
    check_role(team, person, role)
    if not slots:
        raise ShiftError("Tick at least one slot on the calendar.", field="slot")
    with transaction.atomic():
        zones = list(Zone.objects.select_for_update().filter(team=team).order_by("pk"))
        for zone in zones:
            zone.team = team
        known = {z.code for z in zones}
        unknown = sorted({code for code, _ in slots} - known)
        if unknown:
            raise ShiftError(f"{team.name} has no zone {', '.join(unknown)}.", field="slot")
        days = [day for _, day in slots]
        calendar = _calendar(team, zones, min(days), max(days), at)
        lines = plan.check((plan.Proposal(c, d, person.pk, role) for c, d in slots), calendar)
        holders = {h for ln in lines for h in ln.holders}
        people = {u.pk: u for u in User.objects.filter(pk__in=holders | {person.pk})}
        by_code = {z.code: z for z in zones}
        made = Plan(
            None,
            [
                PlanLine(
                    by_code[ln.proposal.zone],
                    ln.proposal.day,
                    person,
                    role,
                    ln.outcome,
                    [people[h] for h in ln.holders],
                )
                for ln in lines
            ],
            plan.fingerprint(lines),
        )
        Booking.objects.bulk_create(
            [Booking(zone=ln.zone, day=ln.day, person=person, role=role) for ln in made.new]
        )
    return made


# --- rotation rules ---------------------------------------------------------------------------


def rotation_rule_save(
    *, zone: Zone, person: User, role: str, weekdays: str, by: User
) -> RotationRule:
    """Add "person, role, on these weekdays" to the zone's rotation, or change the weekdays
    and role of the person's rule in that zone."""
    team = zone.team
    require_coordinator(team, by, "change the rotation")
    if role not in ShiftRole.values:
        raise ShiftError(f"Unknown role {role!r}.", field="person")
    check_role(team, person, role)
    days = "".join(sorted(set(weekdays)))
    if not days or not set(days) <= set("1234567"):
        raise ShiftError("Choose at least one weekday.", field="weekdays")
    outside = [WEEKDAY_NAMES[int(d) - 1] for d in days if d not in zone.weekdays]
    if outside:
        raise ShiftError(
            f"{zone.code} has no shift on {', '.join(outside)} ({zone.hours_label}).",
            field="weekdays",
        )
    rule, _ = RotationRule.objects.update_or_create(
        zone=zone, person=person, defaults={"role": role, "weekdays": days}
    )
    return rule


def rotation_rule_delete(*, rule: RotationRule, by: User) -> None:
    require_coordinator(rule.zone.team, by, "change the rotation")
    rule.delete()


# --- settings ---------------------------------------------------------------------------------


def shift_settings_save(*, team: Team, swaps_need_approval: bool, by: User) -> ShiftSettings:
    """Change the team's calendar settings. Swaps already waiting for a coordinator still
    wait when approval is switched off: a coordinator decides them."""
    require_coordinator(team, by, "change the calendar settings")
    found, _ = ShiftSettings.objects.update_or_create(
        team=team, defaults={"swaps_need_approval": swaps_need_approval}
    )
    return found
