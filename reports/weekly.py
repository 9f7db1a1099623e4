"""The weekly figures mail: on REPORTS_MAIL_WEEKDAY at REPORTS_MAIL_HOUR (team time, Monday
08:00 by default) each team's coordinators get last week's headline numbers, what changed
against the week before, and a link to the page. Sent through the outbox; a WeeklyMail row
per team and week is the claim, so two beats send it once."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from common.links import site_url
from people.models import Role, Team
from reports.models import WeeklyMail
from reports.params import queue_link
from reports.period import period_of
from reports.report import report_headline
from reports.selectors import Filters, report_data, team_people
from tickets.mail.outbox import mail_send
from tickets.models.mail import OutboundKind

log = logging.getLogger(__name__)


def _due(team: Team, now: datetime) -> date | None:
    """The week (its Monday, team time) whose mail is due at ``now``, if any."""
    tz = ZoneInfo(team.time_zone)
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    day = monday + timedelta(days=settings.REPORTS_MAIL_WEEKDAY - 1)
    due = datetime.combine(day, time(settings.REPORTS_MAIL_HOUR), tzinfo=tz)
    return monday if local >= due else None


def _change(now: object, before: object) -> str:
    if not isinstance(now, int | float) or not isinstance(before, int | float):
        return ""
    delta = now - before
    return f" ({'+' if delta >= 0 else ''}{delta:g} on the week before)"


def weekly_context(team: Team, monday: date, now: datetime) -> dict[str, object]:
    """What the mail template ``weekly_figures`` says: last week's figures against the week
    before."""
    period, previous = period_of("week", monday - timedelta(days=1))
    _, people = team_people(team)
    data = report_data(team, period, previous, Filters(), people)
    figures = [
        f"{h['label']}: {h['now'] if h['now'] is not None else '—'} {h['unit']}"
        f"{_change(h['now'], h['before'])}"
        for h in report_headline(data, queue_link, now, coordinator=True)
    ]
    query = urlencode({"team": team.slug, "period": "week", "from": period.first.isoformat()})
    return {
        "team": team.name,
        "period": period.label,
        "figures": figures,
        "link": site_url(f"{reverse('reports')}?{query}"),
    }


def weekly_mail_send(*, now: datetime) -> int:
    """Send each team's due mail that nobody has sent yet. Returns how many were sent."""
    sent = 0
    for team in Team.objects.all():
        monday = _due(team, now)
        if monday is None:
            continue
        coordinators = sorted(
            {
                m.user.email
                for m in team.memberships.filter(role=Role.COORDINATOR).select_related("user")
                if m.user.email
            }
        )
        try:
            with transaction.atomic():
                WeeklyMail.objects.create(
                    team=team, week=monday, sent_at=now, recipients=len(coordinators)
                )
                if coordinators:
                    mail_send(
                        "weekly_figures",
                        team=team,
                        kind=OutboundKind.NOTIFICATION,
                        to=coordinators,
                        context=weekly_context(team, monday, now),
                        automatic=True,
                    )
        except IntegrityError:
            continue  # claimed by another beat or worker: sent once
        sent += 1
    return sent
