"""The demo data of `make run`: loaded once, realistic enough to show every page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from escalation.models import ExpertGroup, GroupKind
from people.models import Team
from shifts.models import Booking, ShiftRole, Zone
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


def _load(settings) -> str:
    settings.DEBUG = True
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_the_demo_loads_once_and_a_second_run_writes_nothing(settings):
    assert "Demo data loaded" in _load(settings)
    counts = (Ticket.objects.count(), Message.objects.count(), Booking.objects.count())
    assert "already loaded" in _load(settings)
    assert (Ticket.objects.count(), Message.objects.count(), Booking.objects.count()) == counts


def test_the_demo_has_both_zones_red_slots_a_trainee_groups_and_dozens_of_tickets(settings):
    _load(settings)
    dast = Team.objects.get(slug="dast")
    assert set(Zone.objects.filter(team=dast).values_list("code", flat=True)) == {"EU", "NA"}
    today = timezone.localdate()
    coming = [today + timedelta(days=n) for n in range(1, 15)]
    covered = set(
        Booking.objects.filter(day__in=coming, role=ShiftRole.FIRST_LEVEL).values_list(
            "zone__code", "day"
        )
    )
    weekdays = [(z, d) for z in ("EU", "NA") for d in coming if d.isoweekday() <= 5]
    assert 0 < len(set(weekdays) - covered) < len(weekdays) // 2  # some red, most covered
    assert Booking.objects.filter(role=ShiftRole.TRAINEE).exists()
    assert ExpertGroup.objects.filter(kind=GroupKind.EXPERT).count() >= 6
    assert ExpertGroup.objects.filter(kind=GroupKind.SITE).exclude(cloud=None).exists()
    assert Ticket.objects.filter(team=dast).count() >= 30
    assert Ticket.objects.filter(team=dast, assignee__isnull=False).exists()
    assert Ticket.objects.filter(team__slug="biomed").exists()


def test_the_demo_refuses_to_load_published_passwords_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("load_demo", stdout=StringIO())
    assert not Team.objects.exists()


def test_demo_mail_to_experts_and_sites_never_reaches_a_requesters_page(settings):
    from tickets.services.requester_access import requester_thread

    # The demo's threads depend on the day it is loaded: on this one some were escalated
    # and answered by experts.
    with time_machine.travel(datetime(2026, 11, 29, 23, 30, tzinfo=UTC)):
        _load(settings)
    escalations = Message.objects.filter(kind="note", body_text__startswith="Escalated to ")
    assert escalations.exists()
    assert Message.objects.filter(kind="expert").exists()
    for ticket in Ticket.objects.filter(messages__in=escalations).distinct()[:10]:
        shown = requester_thread(ticket.requester, ticket)
        texts = [m.body_text for m in shown]
        assert not any(t.startswith("Escalated to ") for t in texts)
        assert all(m.kind in ("email_in", "web", "email_out") for m in shown)


def test_the_demo_shows_a_site_in_downtime_a_task_status_and_a_ggus_answer(settings, client):
    from django.urls import reverse

    from escalation.models import EscalationState
    from grid.models import GgusState, GgusTicket, GridStatus

    with time_machine.travel(datetime(2026, 11, 18, 9, 0, tzinfo=UTC), tick=False):
        _load(settings)
        down = Ticket.objects.get(subject__contains="jobs at ANALY_FZK fail")
        client.force_login(down.assignee)
        page = client.get(reverse("ticket-detail", args=[down.reference])).content.decode()
        assert "OUTAGE" in page
        assert "FZK-LCG2" in page
        assert GridStatus.objects.get(number=41287730).status == "exhausted"
        status = client.get(reverse("grid-status", args=[down.reference])).content.decode()
        assert "exhausted" in status
        row = GgusTicket.objects.get()
        assert (row.state, row.number) == (GgusState.SOLVED, "1000394")
        assert row.escalation.state == EscalationState.ANSWERED
        ral = row.escalation.ticket
        page = client.get(reverse("ticket-detail", args=[ral.reference])).content.decode()
        assert "GGUS #1000394 (solved)" in page
        assert "One of the Echo gateways had a bad disk" in page


def test_the_demo_has_a_quiet_chat_webhook_and_a_cloud_with_its_own_working_calendar(
    settings, monkeypatch
):
    from notifications.models import TeamWebhook, WebhookPost
    from tickets.services import Sender, ticket_open

    monkeypatch.delenv("DAST_DEMO_WEBHOOK_URL", raising=False)
    with time_machine.travel(datetime(2026, 11, 18, 9, 30, tzinfo=UTC)):
        _load(settings)
        dast = Team.objects.get(slug="dast")
        (hook,) = TeamWebhook.objects.filter(team=dast)
        assert (hook.url_env, hook.active) == ("DAST_DEMO_WEBHOOK_URL", False)
        # Off, so a new ticket posts nothing anywhere.
        ticket_open(team=dast, sender=Sender("jdoe@cern.ch"), subject="Hello", body_text=".")
        assert not WebhookPost.objects.exists()

    us = ExpertGroup.objects.get(team=dast, kind=GroupKind.CLOUD, name="US")
    calendar = us.calendar
    assert calendar is not None
    assert calendar.team == dast
    assert (calendar.time_zone, calendar.weekdays) == ("America/New_York", "12345")
    calendar.full_clean()
    holidays = calendar.holidays.splitlines()
    assert "2026-11-26" in holidays  # Thanksgiving
    assert "2027-11-25" in holidays
    bnl = ExpertGroup.objects.get(team=dast, name="BNL-ATLAS")
    assert bnl.calendar_in_force_id == calendar.pk  # a site counts in its cloud's calendar
    assert dast.calendar_id is None  # the team's own: Monday-Friday in its time zone
