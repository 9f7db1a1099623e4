"""The sums, counts and percentiles the figures show, computed by the database: a team-year is
thousands of rollups and tens of thousands of mails, and reading them row by row into Python
was most of the page's time. Each read has two implementations that give the same numbers
(tests/test_reports_aggregates.py runs both on one data set): SQL for PostgreSQL
(``percentile_disc``, ``GROUPING SETS``, the zones' covered hours joined to the mail hours)
and plain Python over the rows for SQLite (``make run``).

``which`` is ``"now"`` for the period and ``"before"`` for the one before it (always the
days just before: see reports.period).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Trunc

from people.models import Team
from reports.calendars import TeamCalendar
from reports.models import TicketFigures
from reports.period import Period
from reports.rollup import DONE, status_at
from reports.tables import percentile
from tickets.models.events import ActorKind, EventKind, TicketEvent

HOUR = timedelta(hours=1)
OUTSIDE = "none"  # mail outside every zone's covered hours
FIELDS = ("first_response_s", "resolution_s")
# The groups of the response and resolution figures: by -> the rollup's column.
GROUPS = {"zone": "zone", "category": "category", "shifter": "shifter_id"}


@dataclass(frozen=True)
class Scope:
    """What the aggregates are asked about: a team, the two periods, the filters."""

    team: Team
    period: Period
    previous: Period
    cal: TeamCalendar
    zone: str = ""
    category: str = ""
    shifter: int | None = None

    @property
    def start(self) -> datetime:  # the previous period's first instant
        return self.previous.start(self.cal.tz)

    @property
    def middle(self) -> datetime:  # the period's first instant
        return self.period.start(self.cal.tz)

    @property
    def end(self) -> datetime:
        return self.period.end(self.cal.tz)

    def which(self, at: datetime) -> str:
        return "now" if at >= self.middle else "before"


@dataclass(frozen=True)
class Timing:
    """One group of tickets (merged ones left out) and one of its durations."""

    tickets: int  # in the group
    count: int  # with the duration (answered, resolved)
    p50: int | None  # seconds, nearest rank
    p90: int | None
    within: int  # at or under the target


@dataclass
class TicketCounts:
    # (which, field, by, value) -> Timing; by "all" (value ""), "zone", "category" or
    # "shifter" (value: the person's id as text). Groups of merged tickets only have 0 tickets.
    timings: dict[tuple[str, str, str, str], Timing] = field(default_factory=dict)
    # which -> (opened, reopened at least once, merged)
    rates: dict[str, tuple[int, int, int]] = field(default_factory=dict)


@dataclass
class MailCounts:
    # (which, week's Monday, zone, kind) -> mails; local days, the zone whose covered hour
    # the mail came in (OUTSIDE for none), kind "opened" or "message_received".
    weeks: Counter[tuple[str, date, str, str]] = field(default_factory=Counter)
    # (which, weekday 0-6, local hour, zone) -> mails
    hours: Counter[tuple[str, int, int, str]] = field(default_factory=Counter)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _targets() -> dict[str, int]:
    return {
        "first_response_s": int(settings.FIRST_RESPONSE_COVERED_HOURS * 3600),
        "resolution_s": int(settings.REPORTS_RESOLUTION_TARGET_HOURS * 3600),
    }


def _figures(scope: Scope) -> QuerySet[TicketFigures]:
    rows = TicketFigures.objects.filter(team=scope.team)
    if scope.zone:
        rows = rows.filter(zone=scope.zone)
    if scope.category:
        rows = rows.filter(category=scope.category)
    if scope.shifter:
        rows = rows.filter(shifter_id=scope.shifter)
    return rows


def _where(scope: Scope) -> tuple[str, list[Any]]:
    """The filters as SQL on reports_ticketfigures (aliased f)."""
    sql: list[str] = ["f.team_id = %s"]
    params: list[Any] = [scope.team.pk]
    if scope.zone:
        sql.append("f.zone = %s")
        params.append(scope.zone)
    if scope.category:
        sql.append("f.category = %s")
        params.append(scope.category)
    if scope.shifter:
        sql.append("f.shifter_id = %s")
        params.append(scope.shifter)
    return " AND ".join(sql), params


# --- response and resolution times, reopen and merge rates ---------------------------------


def ticket_counts(scope: Scope) -> TicketCounts:
    """The tickets opened in both periods, by zone, category and shifter. One query."""
    return _ticket_counts_sql(scope) if _postgres() else _ticket_counts_python(scope)


def _ticket_counts_sql(scope: Scope) -> TicketCounts:
    where, params = _where(scope)
    targets = _targets()
    per_field = []
    for name in FIELDS:
        per_field.append(
            f"count(f.{name}) FILTER (WHERE NOT f.merged), "
            f"percentile_disc(0.5) WITHIN GROUP (ORDER BY f.{name}) FILTER (WHERE NOT f.merged), "
            f"percentile_disc(0.9) WITHIN GROUP (ORDER BY f.{name}) FILTER (WHERE NOT f.merged), "
            f"count(*) FILTER (WHERE NOT f.merged AND f.{name} <= {targets[name]:d})"
        )
    sql = f"""
        SELECT f.which, GROUPING(f.zone), GROUPING(f.category), GROUPING(f.shifter_id),
               f.zone, f.category, f.shifter_id,
               count(*), count(*) FILTER (WHERE f.reopen_count > 0),
               count(*) FILTER (WHERE f.merged), count(*) FILTER (WHERE NOT f.merged),
               {", ".join(per_field)}
        FROM (
            SELECT f.*, CASE WHEN f.opened_at >= %s THEN 'now' ELSE 'before' END AS which
            FROM {TicketFigures._meta.db_table} f
            WHERE {where} AND f.opened_at >= %s AND f.opened_at < %s
        ) f
        GROUP BY GROUPING SETS ((f.which), (f.which, f.zone), (f.which, f.category),
                                (f.which, f.shifter_id))
    """  # noqa: S608 - table name and targets from the code; values are parameters
    out = TicketCounts()
    with connection.cursor() as cursor:
        cursor.execute(sql, [scope.middle, *params, scope.start, scope.end])
        for row in cursor.fetchall():
            which, g_zone, g_cat, g_shifter, zone, category, shifter = row[:7]
            opened, reopened, merged, tickets = row[7:11]
            if g_zone and g_cat and g_shifter:
                by, value = "all", ""
                out.rates[which] = (opened, reopened, merged)
            elif not g_zone:
                by, value = "zone", zone
            elif not g_cat:
                by, value = "category", category
            elif shifter is None:
                continue  # nobody answered or owned these
            else:
                by, value = "shifter", str(shifter)
            for n, name in enumerate(FIELDS):
                count, p50, p90, within = row[11 + 4 * n : 15 + 4 * n]
                out.timings[which, name, by, value] = Timing(tickets, count, p50, p90, within)
    return out


def _ticket_counts_python(scope: Scope) -> TicketCounts:
    rows = _figures(scope).filter(opened_at__gte=scope.start, opened_at__lt=scope.end)
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    values = ("opened_at", "zone", "category", "shifter_id", "merged", "reopen_count", *FIELDS)
    for t in rows.values(*values):
        which = scope.which(t["opened_at"])
        groups[which, "all", ""].append(t)
        groups[which, "zone", t["zone"]].append(t)
        groups[which, "category", t["category"]].append(t)
        if t["shifter_id"] is not None:
            groups[which, "shifter", str(t["shifter_id"])].append(t)
    out = TicketCounts()
    targets = _targets()
    for (which, by, value), members in groups.items():
        if by == "all":
            out.rates[which] = (
                len(members),
                sum(1 for t in members if t["reopen_count"]),
                sum(1 for t in members if t["merged"]),
            )
        kept = [t for t in members if not t["merged"]]
        for name in FIELDS:
            done = [t[name] for t in kept if t[name] is not None]
            out.timings[which, name, by, value] = Timing(
                len(kept),
                len(done),
                percentile(done, 50),  # type: ignore[arg-type]
                percentile(done, 90),  # type: ignore[arg-type]
                sum(1 for s in done if s <= targets[name]),
            )
    return out


# --- the backlog's tickets and the sites the tickets name ----------------------------------


AGES = (("under_1d", 1), ("d1_7", 7), ("d7_30", 30))  # days; older: "d30_plus"


def age_bucket(age: timedelta) -> str:
    return next((key for key, limit in AGES if age.days < limit), "d30_plus")


def week_ends(period: Period) -> list[date]:
    """The Sundays of the period."""
    sunday = period.first + timedelta(days=(6 - period.first.weekday()))
    ends = []
    while sunday <= period.last:
        ends.append(sunday)
        sunday += timedelta(days=7)
    return ends


def backlog_and_sites(
    scope: Scope, ends: list[date]
) -> tuple[dict[date, Counter[str]], Counter[str]]:
    """Per week's end in ``ends`` (Sunday 24:00, team time), the tickets (not merged) open
    then: in all ("total"), by status, by age ("under_1d", "d1_7", "d7_30", "d30_plus"); and
    per site how many tickets opened in the period name it. One query on PostgreSQL."""
    ends = sorted(set(ends))
    if _postgres():
        return _backlog_and_sites_sql(scope, ends)
    return _backlog_and_sites_python(scope, ends)


def _instants(scope: Scope, ends: list[date]) -> list[datetime]:
    return [
        datetime.combine(day + timedelta(days=1), time(), tzinfo=scope.cal.tz).astimezone(UTC)
        for day in ends
    ]


def _backlog_and_sites_sql(
    scope: Scope, ends: list[date]
) -> tuple[dict[date, Counter[str]], Counter[str]]:
    where, params = _where(scope)
    table = TicketFigures._meta.db_table
    # A ticket counts at the week's ends after its opening up to its final resolution, with
    # the status of its last change before the instant (the timeline: [instant, status]
    # pairs, oldest first); its age in whole days.
    # Only the tickets that lived through a week's end are read: the first after the
    # opening is the Monday 00:00 (team time) after it.
    sql = f"""
        WITH t AS MATERIALIZED (
            SELECT f.opened_at, f.resolved_at, f.timeline
            FROM {table} f
            WHERE {where} AND NOT f.merged AND f.opened_at < %s
              AND (f.resolved_at IS NULL OR (f.resolved_at >= %s AND f.resolved_at >= (
                    date_trunc('week', f.opened_at AT TIME ZONE %s) + interval '7 days'
                  ) AT TIME ZONE %s))
        )
        SELECT e.day, s.status,
               CASE WHEN e.at - t.opened_at < interval '1 day' THEN 'under_1d'
                    WHEN e.at - t.opened_at < interval '7 days' THEN 'd1_7'
                    WHEN e.at - t.opened_at < interval '30 days' THEN 'd7_30'
                    ELSE 'd30_plus' END,
               count(*)
        FROM unnest(%s::timestamptz[], %s::date[]) AS e(at, day)
        JOIN t ON t.opened_at < e.at AND (t.resolved_at IS NULL OR e.at <= t.resolved_at)
        CROSS JOIN LATERAL (
            SELECT c.change ->> 1 AS status
            FROM jsonb_array_elements(t.timeline) WITH ORDINALITY AS c(change, n)
            WHERE (c.change ->> 0)::timestamptz < e.at
            ORDER BY c.n DESC LIMIT 1
        ) s
        WHERE s.status NOT IN %s
        GROUP BY 1, 2, 3
        UNION ALL
        SELECT NULL, s.site, NULL, count(DISTINCT f.ticket_id)
        FROM {table} f, jsonb_array_elements_text(f.sites) AS s(site)
        WHERE {where} AND f.opened_at >= %s AND f.opened_at < %s
        GROUP BY s.site
    """  # noqa: S608 - the table name is the model's; values are parameters
    counts: dict[date, Counter[str]] = {day: Counter() for day in ends}
    sites: Counter[str] = Counter()
    instants, tz = _instants(scope, ends), scope.team.time_zone
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                *params,
                max(instants, default=scope.start),
                min(instants, default=scope.end),
                tz,
                tz,
                instants,
                ends,
                DONE,
                *params,
                scope.middle,
                scope.end,
            ],
        )
        for day, name, bucket, n in cursor.fetchall():
            if day is None:
                sites[name] = n
            else:
                counts[day].update({"total": n, name: n, bucket: n})
    return counts, sites


def _backlog_and_sites_python(
    scope: Scope, ends: list[date]
) -> tuple[dict[date, Counter[str]], Counter[str]]:
    counts: dict[date, Counter[str]] = {day: Counter() for day in ends}
    instants = _instants(scope, ends)
    first_end = min(instants, default=scope.end)
    alive = (
        _figures(scope)
        .filter(merged=False, opened_at__lt=max(instants, default=scope.start))
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=first_end))
        .values("opened_at", "resolved_at", "timeline")
    )
    for t in alive:
        # Only the week ends between its opening and its final resolution can count it.
        first = bisect_right(instants, t["opened_at"])
        done = t["resolved_at"] if t["timeline"][-1][1] in DONE else None
        last = bisect_right(instants, done) if done is not None else len(instants)
        if first >= last:
            continue
        for n in range(first, last):
            day, at = ends[n], instants[n]
            status = status_at(t["timeline"], at)
            if status is None or status in DONE:
                continue
            counts[day].update(["total", status, age_bucket(at - t["opened_at"])])
    sites: Counter[str] = Counter()
    named = (
        _figures(scope)
        .filter(opened_at__gte=scope.middle, opened_at__lt=scope.end)
        .exclude(sites=[])
        .values_list("sites", flat=True)
    )
    for names in named:
        sites.update(set(names or []))
    return counts, sites


# --- mail per covered hour -----------------------------------------------------------------


def mail_counts(scope: Scope) -> MailCounts:
    """Mail in (openings and mails received) of both periods by week, zone and kind, and by
    weekday, hour and zone: each mail counts for the zone whose covered hour (the zones'
    slots, closures left out) it came in. One query."""
    return _mail_counts_sql(scope) if _postgres() else _mail_counts_python(scope)


KINDS = [str(EventKind.OPENED), str(EventKind.MESSAGE_RECEIVED)]
# Mail in: a new ticket's first mail, every later mail received, and an answer someone posted
# on the list rather than through the desk (an archive's history: a REPLY_SENT of a person
# without a desk account; the desk's own replies name their author, or the desk). Counted as
# received: it is list traffic that came in, as DAST's shift reports count it.
LIST_ANSWER = Q(kind=EventKind.REPLY_SENT, actor_kind=ActorKind.PERSON, actor_id__isnull=True)


def _mail_counts_sql(scope: Scope) -> MailCounts:
    slots = scope.cal.slots
    tz = scope.team.time_zone
    # Each slot as its first instant (epoch seconds) and how many hour starts it holds.
    hours = [-(-int((s.ends_at - s.starts_at).total_seconds()) // 3600) for s in slots]
    # A slot's hours; where two zones' slots overlapped, the later slot's zone (as
    # _mail_counts_python's dict keeps the last).
    sql = f"""
        WITH slot AS (
            SELECT DISTINCT ON (h.h) h.h, h.z
            FROM (
                SELECT to_timestamp(s.a + 3600 * k.k) AS h, s.z, s.n
                FROM unnest(%s::bigint[], %s::int[], %s::text[]) WITH ORDINALITY AS s(a, c, z, n)
                JOIN generate_series(0, %s) AS k(k) ON k.k < s.c
            ) h
            ORDER BY h.h, h.n DESC
        ), mail AS MATERIALIZED (
            -- Hours by their local start: the origin is a local midnight, and the team's
            -- offsets from UTC differ by whole hours (summer time), as every zone's but
            -- Lord Howe Island's do.
            SELECT date_bin('1 hour', e.at, %s) AS h,
                   CASE WHEN e.kind = %s THEN %s ELSE e.kind END AS kind, count(*) AS n
            FROM {TicketEvent._meta.db_table} e
            WHERE e.team_id = %s AND e.at >= %s AND e.at < %s AND (e.kind IN (%s, %s)
                  OR (e.kind = %s AND e.actor_kind = %s AND e.actor_id IS NULL))
            GROUP BY 1, 2
        ), local AS MATERIALIZED (
            SELECT m.h AT TIME ZONE %s AS l, COALESCE(slot.z, %s) AS zone, m.kind, m.n
            FROM mail m LEFT JOIN slot ON slot.h = m.h
        )
        SELECT t.which, GROUPING(t.week), t.week, t.dow, t.hr, t.zone, t.kind, sum(t.n)
        FROM (
            SELECT CASE WHEN l.l >= %s THEN 'now' ELSE 'before' END AS which,
                   date_trunc('week', l.l)::date AS week,
                   extract(isodow FROM l.l)::int - 1 AS dow,
                   extract(hour FROM l.l)::int AS hr,
                   l.zone, l.kind, l.n
            FROM local l
        ) t
        GROUP BY GROUPING SETS ((t.which, t.week, t.zone, t.kind), (t.which, t.dow, t.hr, t.zone))
    """  # noqa: S608 - the table name is the model's; values are parameters
    out = MailCounts()
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                [int(s.starts_at.timestamp()) for s in slots],
                hours,
                [s.zone for s in slots],
                max(hours, default=1) - 1,
                scope.start,
                str(EventKind.REPLY_SENT),
                str(EventKind.MESSAGE_RECEIVED),
                scope.team.pk,
                scope.start,
                scope.end,
                *KINDS,
                str(EventKind.REPLY_SENT),
                str(ActorKind.PERSON),
                tz,
                OUTSIDE,
                datetime.combine(scope.period.first, time()),
            ],
        )
        for which, by_hour, week, dow, hr, zone, kind, n in cursor.fetchall():
            if by_hour:
                out.hours[which, dow, hr, zone] += int(n)
            else:
                out.weeks[which, week, zone, kind] += int(n)
    return out


def zone_of_hour(cal: TeamCalendar) -> dict[datetime, str]:
    """Each covered hour (by its start, UTC) and its zone."""
    out = {}
    for slot in cal.slots:
        at = slot.starts_at
        while at < slot.ends_at:
            out[at] = slot.zone
            at += HOUR
    return out


def _mail_counts_python(scope: Scope) -> MailCounts:
    tz = scope.cal.tz
    zone_of = zone_of_hour(scope.cal)
    rows = (
        TicketEvent.objects.filter(team=scope.team, at__gte=scope.start, at__lt=scope.end)
        .filter(Q(kind__in=KINDS) | LIST_ANSWER)
        .annotate(hour=Trunc("at", "hour", tzinfo=tz))
        .values("hour", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    out = MailCounts()
    for row in rows:
        local = row["hour"].astimezone(tz)
        zone = zone_of.get(row["hour"].astimezone(UTC), OUTSIDE)
        day = local.date()
        which = "now" if day >= scope.period.first else "before"
        kind = EventKind.OPENED if row["kind"] == EventKind.OPENED else EventKind.MESSAGE_RECEIVED
        out.weeks[which, day - timedelta(days=day.weekday()), zone, str(kind)] += row["n"]
        out.hours[which, local.weekday(), local.hour, zone] += row["n"]
    return out


def covered_hours(
    cal: TeamCalendar, periods: Iterable[tuple[str, Period]]
) -> defaultdict[Any, float]:
    """Covered hours per (which, week's Monday, zone) and per (which, zone)."""
    out: defaultdict[Any, float] = defaultdict(float)
    for slot in cal.slots:
        for which, period in periods:
            if period.first <= slot.day <= period.last:
                h = (slot.ends_at - slot.starts_at) / HOUR
                out[which, slot.day - timedelta(days=slot.day.weekday()), slot.zone] += h
                out[which, slot.zone] += h
    return out
