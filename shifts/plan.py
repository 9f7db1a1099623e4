"""Filling many slots at once: a rotation applied to a month, a week or a month copied onto
another, several selected slots given to one person. Pure: data in, data out.

Each of them makes *proposals* (this person, this role, on this slot); ``check`` holds them
against the calendar as it is and says what each would do. Only ``Outcome.NEW`` lines are
booked: nothing already on the calendar is removed or replaced, and the preview lists the
slots that conflict. The fingerprint of the NEW lines lets the apply step refuse a plan that
changed since its preview.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from shifts.rota import ZoneHours, is_closed, slot_on

FIRST_LEVEL, TRAINEE = "first_level", "trainee"  # shifts.models.ShiftRole, kept pure here


@dataclass(frozen=True)
class Proposal:
    zone: str  # the zone's code
    day: date
    person: int  # a user id
    role: str
    source_day: date | None = None  # a copy: the day it is copied from


class Outcome(StrEnum):
    NEW = "new"
    ALREADY = "already"  # that person is on the slot already, in that role
    CONFLICT = "conflict"  # someone else holds the role there (or this person another role)
    NO_SHIFT = "no_shift"
    CLOSED = "closed"
    PAST = "past"
    NO_ROLE = "no_role"  # the person does not (any more) hold the team role
    TRAINEE_ALONE = "trainee_alone"  # no first-level shifter on the slot, nor planned


@dataclass(frozen=True)
class Line:
    proposal: Proposal
    outcome: Outcome
    holders: tuple[int, ...] = ()  # CONFLICT: who is booked there already


@dataclass(frozen=True)
class Calendar:
    """The calendar a plan is checked against."""

    zones: Mapping[str, ZoneHours]
    tz: ZoneInfo
    closures: Sequence[tuple[date, date]]
    bookings: Mapping[tuple[str, date], Sequence[tuple[int, str]]]  # slot -> (person, role)
    roles: Mapping[int, frozenset[str]]  # person -> the booking roles they may hold
    now: datetime


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def month_last(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def rotation(
    rules: Iterable[tuple[str, int, str, frozenset[int]]], first: date, last: date
) -> list[Proposal]:
    """Rules (zone, person, role, ISO weekdays) over the days first..last."""
    rules = list(rules)
    return [
        Proposal(zone, day, person, role)
        for day in days_between(first, last)
        for zone, person, role, weekdays in rules
        if day.isoweekday() in weekdays
    ]


def week_days(source_monday: date, target_monday: date) -> dict[date, date]:
    """Each day of the source week onto the same weekday of the target week."""
    return {source_monday + timedelta(days=n): target_monday + timedelta(days=n) for n in range(7)}


def month_days(source_first: date, target_first: date) -> dict[date, date]:
    """Each day of the source month onto the same weekday of the target month, the n-th
    onto the n-th (the second Tuesday onto the second Tuesday). A fifth weekday the target
    month lacks has no counterpart and is left out."""
    target: dict[int, list[date]] = defaultdict(list)
    for day in days_between(target_first, month_last(target_first)):
        target[day.isoweekday()].append(day)
    out = {}
    for day in days_between(source_first, month_last(source_first)):
        nth = (day.day - 1) // 7
        same = target[day.isoweekday()]
        if nth < len(same):
            out[day] = same[nth]
    return out


def copied(
    bookings: Iterable[tuple[str, date, int, str]], days: Mapping[date, date]
) -> tuple[list[Proposal], list[Proposal]]:
    """Bookings (zone, day, person, role) moved by ``days``; second: those whose day has no
    counterpart (``day`` is then the source day)."""
    moved: list[Proposal] = []
    left_out: list[Proposal] = []
    for zone, day, person, role in bookings:
        if day in days:
            moved.append(Proposal(zone, days[day], person, role, source_day=day))
        else:
            left_out.append(Proposal(zone, day, person, role, source_day=day))
    return moved, left_out


def _blocked(proposal: Proposal, calendar: Calendar) -> Outcome | None:
    hours = calendar.zones.get(proposal.zone)
    if hours is None or proposal.day.isoweekday() not in hours.weekdays:
        return Outcome.NO_SHIFT
    if is_closed(proposal.day, calendar.closures):
        return Outcome.CLOSED
    if slot_on(hours, proposal.day, calendar.tz).starts_at <= calendar.now:
        return Outcome.PAST
    if proposal.role not in calendar.roles.get(proposal.person, frozenset()):
        return Outcome.NO_ROLE
    return None


def check(proposals: Iterable[Proposal], calendar: Calendar) -> list[Line]:
    """What each proposal would do on ``calendar``, in calendar order (first-level lines
    before trainees on a slot). A repeated proposal appears once."""

    def order(p: Proposal) -> tuple:
        hours = calendar.zones.get(p.zone)
        start = hours.starts_at.isoformat() if hours else "~"
        return (p.day, start, p.zone, p.role != FIRST_LEVEL, p.person)

    unique = sorted(set(proposals), key=order)
    planned_first: dict[tuple[str, date], set[int]] = defaultdict(set)  # NEW first level
    lines = []
    for proposal in unique:
        slot = (proposal.zone, proposal.day)
        blocked = _blocked(proposal, calendar)
        if blocked is not None:
            lines.append(Line(proposal, blocked))
            continue
        on_slot = calendar.bookings.get(slot, ())
        mine = [role for person, role in on_slot if person == proposal.person]
        if mine:
            same = proposal.role in mine
            outcome = Outcome.ALREADY if same else Outcome.CONFLICT
            lines.append(Line(proposal, outcome, () if same else (proposal.person,)))
            continue
        holders = tuple(person for person, role in on_slot if role == proposal.role)
        if holders:
            lines.append(Line(proposal, Outcome.CONFLICT, holders))
            continue
        first_there = any(role == FIRST_LEVEL for _, role in on_slot) or planned_first[slot]
        if proposal.role == TRAINEE and not first_there:
            lines.append(Line(proposal, Outcome.TRAINEE_ALONE))
            continue
        if proposal.role == FIRST_LEVEL:
            planned_first[slot].add(proposal.person)
        lines.append(Line(proposal, Outcome.NEW))
    return lines


def fingerprint(lines: Iterable[Line]) -> str:
    """Names what applying the plan would book; changes when the calendar changed so."""
    new = sorted(
        f"{line.proposal.zone}|{line.proposal.day}|{line.proposal.person}|{line.proposal.role}"
        for line in lines
        if line.outcome == Outcome.NEW
    )
    return hashlib.sha256("\n".join(new).encode()).hexdigest()[:20]
