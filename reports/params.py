"""What a report request asks for: team and viewer's reach, period, filters. Shared by the
page, the CSV and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.urls import get_script_prefix, reverse

from people.models import Role, Team
from people.selectors import teams_for_desk_user
from reports.period import Period, PeriodError, period_of
from reports.selectors import Filters, team_people
from tickets.models import Category


class NotYours(LookupError):
    """Not one of the viewer's teams: answered as if it did not exist."""


@dataclass
class Reach:
    team: Team
    teams: list[Team]
    coordinator: bool
    people: dict[int, User]


def reach(user: User, slug: str) -> Reach:
    """The team of ``?team=`` among the viewer's desk teams (the first when not named) and
    whether they coordinate it. Two queries."""
    teams = list(teams_for_desk_user(user))
    team = next((t for t in teams if t.slug == slug or (not slug and t is teams[0])), None)
    if team is None:
        raise NotYours(slug)
    roles, people = team_people(team)
    mine = roles.get(user.pk, set())
    coordinator = user.is_superuser or bool(mine & {Role.COORDINATOR, Role.ADMIN})
    return Reach(team, teams, coordinator, people)


def _date(raw: str, name: str, errors: list[str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(f"“{raw}” is not a date for “{name}” (YYYY-MM-DD).")
        return None


def parse(
    query: dict[str, str], reach: Reach, viewer: User, now: datetime
) -> tuple[Period, Period, Filters, list[str]]:
    """Period and filters from the query; a bad value is named and left at its default.
    A shifter's figures are their own whatever the query says."""
    errors: list[str] = []
    today = now.astimezone(ZoneInfo(reach.team.time_zone)).date()
    kind = query.get("period") or "4weeks"
    first = _date(query.get("from", ""), "from", errors)
    last = _date(query.get("to", ""), "to", errors)
    if first and last and kind == "4weeks" and "period" not in query:
        kind = "custom"
    try:
        period, previous = period_of(kind, first or today, first, last)
    except PeriodError as exc:
        errors.append(str(exc))
        period, previous = period_of("4weeks", today)
    zone = query.get("zone", "")
    category = query.get("category", "")
    if category and category not in Category.values:
        errors.append(f"“{category}” is not a category.")
        category = ""
    group = _int(query.get("group", ""), "group", errors)
    shifter = _int(query.get("shifter", ""), "shifter", errors)
    if shifter is not None and shifter not in reach.people:
        errors.append("Choose a shifter of the team.")
        shifter = None
    if not reach.coordinator:
        shifter = viewer.pk
    return period, previous, Filters(zone, category, group, shifter), errors


def _int(raw: str, name: str, errors: list[str]) -> int | None:
    if not raw:
        return None
    if not raw.isdigit():
        errors.append(f"“{raw}” is not a {name}.")
        return None
    return int(raw)


def queue_link(**filters: object) -> str:
    """The queue with the tickets behind a number (its filters: zone, category, assignee,
    opened_from, opened_to). A page links hundreds of numbers with the same few values:
    the path and each encoded pair are made once."""
    query = {"view": "all", **{k: str(v) for k, v in filters.items() if v not in (None, "")}}
    pairs = "&".join(_encoded(key, value) for key, value in query.items())
    return f"{_queue_path(get_script_prefix())}?{pairs}"


@lru_cache(maxsize=8)
def _queue_path(prefix: str) -> str:
    return reverse("ticket-list")  # under ``prefix``, the request's script prefix


@lru_cache(maxsize=4096)
def _encoded(key: str, value: str) -> str:
    return urlencode({key: value})
