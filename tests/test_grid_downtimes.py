"""Site downtimes: GOCDB's downtime feed and CRIC's queues and endpoints read by the beat
task into tables where a queue, an ATLAS site and a GOCDB name mean one site; the ticket
page's badge, the queue's "site in downtime" filter, a suggested answer, and escalations to
a site in outage held until it ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from escalation.models import ExpertGroup, GroupKind, Timer
from escalation.services import escalation_create
from grid.http import BadData
from grid.models import Downtime, ServiceHealth, Site
from grid.parse import parse_downtimes
from grid.selectors import sites_named
from grid.services import grid_directory_refresh, ticket_mentions_index
from tests.factories import (
    MailboxFactory,
    MembershipFactory,
    MessageFactory,
    TeamFactory,
    TicketFactory,
)
from tests.gridfakes import Answer, fixture, serve_directory
from tickets.models import Message, OutboundMail

pytestmark = pytest.mark.django_db

# Tuesday 12 March 2024, 10:00 UTC: FZK-LCG2 is in a scheduled outage (06:00 until
# Wednesday 18:00), SFU-LCG2 at risk, CERN-PROD's outage starts at 20:00.
NOW = datetime(2024, 3, 12, 10, 0, tzinfo=UTC)
FZK_END = datetime(2024, 3, 13, 18, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def directory(fake_grid):
    serve_directory(fake_grid)
    assert grid_directory_refresh() == {"sites": "3 stored", "downtimes": "3 stored"}
    return fake_grid


@pytest.fixture
def desk(client):
    team = TeamFactory(slug="dast", ticket_prefix="DAST", name="ATLAS DAST")
    MailboxFactory(team=team)
    client.force_login(MembershipFactory(team=team).user)
    return team


def test_one_downtime_listed_once_per_service_is_one_row_with_its_services():
    rows = parse_downtimes(fixture("gocdb_downtimes.xml"))
    assert [r.key for r in rows] == ["34567G0", "34590G0", "34601G0"]
    fzk = rows[0]
    assert (fzk.gocdb_site, fzk.severity, fzk.classification) == ("FZK-LCG2", "OUTAGE", "SCHEDULED")
    assert fzk.services == ["atlassrm-fzk.gridka.de SRM", "arc-1-kit.gridka.de ARC-CE"]
    assert fzk.end_at == FZK_END


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<results><DOWNTIME", "not XML"),
        (b"<html>Service unavailable</html>", "expected <results>"),
        (
            b'<results><DOWNTIME PRIMARY_KEY="1G0" CLASSIFICATION="SCHEDULED"><SEVERITY>OUTAGE'
            b"</SEVERITY><HOSTED_BY>X</HOSTED_BY><START_DATE>soon</START_DATE></DOWNTIME></results>",
            "START_DATE is not a Unix time",
        ),
    ],
)
def test_a_broken_feed_is_refused_with_its_reason(body, reason):
    with pytest.raises(BadData, match=reason):
        parse_downtimes(body)


def test_a_queue_an_endpoint_an_atlas_and_a_gocdb_name_mean_one_site(directory):
    found = sites_named(["analy_sfu", "CA-SFU-T2_SCRATCHDISK", "CA-SFU-T2", "SFU-LCG2", "NOWHERE"])
    assert {name: site.name for name, site in found.items()} == {
        "analy_sfu": "CA-SFU-T2",
        "CA-SFU-T2_SCRATCHDISK": "CA-SFU-T2",
        "CA-SFU-T2": "CA-SFU-T2",
        "SFU-LCG2": "CA-SFU-T2",
    }
    sfu = Site.objects.get(name="CA-SFU-T2")
    assert (sfu.gocdb_name, sfu.cloud) == ("SFU-LCG2", "CA")


def test_the_feed_is_asked_for_a_window_from_today(directory, settings):
    settings.GRID_DOWNTIME_WINDOW_DAYS = 7
    query = next(q for p, q in directory.requests if p == "/gocdbpi/public/")
    assert "method=get_downtime" in query
    assert "windowstart=2024-03-12" in query
    assert "windowend=2024-03-19" in query


def test_a_broken_feed_keeps_the_old_downtimes_and_says_why(directory):
    directory.answer("/gocdbpi/public/", Answer(b"<results><DOWN", content_type="text/xml"))
    with time_machine.travel(NOW + timedelta(minutes=15), tick=False):
        done = grid_directory_refresh()
    assert "malformed answer" in done["downtimes"]
    assert Downtime.objects.count() == 3
    health = ServiceHealth.objects.get(service="gocdb")
    assert "not XML" in health.last_error
    assert health.last_success_at == NOW


def test_a_cancelled_downtime_disappears_at_the_next_read(directory):
    directory.answer("/gocdbpi/public/", Answer(b"<results></results>", content_type="text/xml"))
    grid_directory_refresh()
    assert Downtime.objects.count() == 0


def test_the_ticket_page_shows_the_outage_of_a_named_queue_with_the_datas_age(
    client, desk, directory
):
    ticket = TicketFactory(team=desk, subject="All my jobs fail at ANALY_FZK")
    MessageFactory(ticket=ticket, body_text="Jobs at ANALY_FZK fail in stage-in since 7am.")
    asked = len(directory.requests)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert len(directory.requests) == asked  # the page asked no service
    assert "OUTAGE (scheduled)" in page
    assert "until <time" in page
    assert "Wed 13 Mar 18:00 UTC" in page
    assert "https://goc.egi.eu/portal/index.php?Page_Type=Downtime&amp;id=34567" in page
    assert "GOCDB ↗" in page
    assert "Downtime data 5 min old" in page
    assert "Suggested answer" in page
    assert "--excludedSite=FZK-LCG2" in page


def test_an_outage_that_starts_later_today_is_shown_as_upcoming(client, desk, directory):
    ticket = TicketFactory(team=desk, subject="Slow jobs at ANALY_CERN")
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert "OUTAGE from Tue 12 Mar 20:00 UTC" in page
    assert "Suggested answer" not in page


def test_a_site_without_downtime_says_so(client, desk, directory):
    Downtime.objects.all().delete()
    ticket = TicketFactory(team=desk, subject="Jobs at ANALY_FZK")
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert "No declared downtime for ANALY_FZK" in page
    assert "OUTAGE" not in page


def test_the_queue_filter_lists_tickets_naming_a_site_in_outage(client, desk, directory):
    down = TicketFactory(team=desk, subject="Stage-in errors")
    MessageFactory(ticket=down, body_text="Output to FZK-LCG2_DATADISK fails")
    warned = TicketFactory(team=desk, subject="Jobs slow at ANALY_SFU")  # at risk only
    quiet = TicketFactory(team=desk, subject="Password reset")
    for ticket in (down, warned, quiet):
        ticket_mentions_index(ticket=ticket)
    page = client.get(reverse("ticket-list"), {"view": "all", "site_in_downtime": "on"})
    listed = page.content.decode()

    def row(ticket):  # the link, not the bare reference: "DAST-12" is in the search hint "DAST-123"
        return f'href="/tickets/{ticket.reference}/"'

    assert row(down) in listed
    assert row(warned) not in listed
    assert row(quiet) not in listed
    everything = client.get(reverse("ticket-list"), {"view": "all"}).content.decode()
    assert row(warned) in everything
    assert "Site in downtime" in everything


def site_group(team, name):
    return ExpertGroup.objects.create(
        team=team, kind=GroupKind.SITE, name=name, email="site-support@example.org"
    )


def test_an_escalation_to_a_site_in_outage_waits_until_it_ends_and_says_so(desk, directory):
    ticket = TicketFactory(team=desk, subject="Stage-in errors at ANALY_FZK")
    esc = escalation_create(
        ticket=ticket, by=None, note="Please check the SRM", group=site_group(desk, "FZK-LCG2")
    )
    mail = OutboundMail.objects.get(pk=esc.outbound_id)
    assert mail.next_attempt_at == FZK_END
    note = Message.objects.filter(ticket=ticket).latest("pk").body_text
    assert "Held: FZK-LCG2 is in a scheduled outage declared in GOCDB" in note
    assert "Wed 13 Mar 18:00 UTC" in note
    timer = Timer.objects.get(escalation=esc)
    assert timer.started_at == FZK_END


def test_the_shifter_may_send_it_now_all_the_same(desk, directory):
    ticket = TicketFactory(team=desk, subject="Stage-in errors at ANALY_FZK")
    esc = escalation_create(
        ticket=ticket,
        by=None,
        note="Urgent: data loss?",
        group=site_group(desk, "ANALY_FZK"),  # a queue's name resolves as well
        override_hold=True,
    )
    assert OutboundMail.objects.get(pk=esc.outbound_id).next_attempt_at == NOW
    assert "Held" not in Message.objects.filter(ticket=ticket).latest("pk").body_text


def test_a_site_only_at_risk_is_not_held(desk, directory):
    ticket = TicketFactory(team=desk, subject="Slow at ANALY_SFU")
    esc = escalation_create(
        ticket=ticket, by=None, note="Slow jobs", group=site_group(desk, "CA-SFU-T2")
    )
    assert OutboundMail.objects.get(pk=esc.outbound_id).next_attempt_at == NOW


def test_the_escalate_form_offers_the_override_and_the_flash_says_held(client, desk, directory):
    ticket = TicketFactory(team=desk, subject="Stage-in errors at ANALY_FZK")
    group = site_group(desk, "FZK-LCG2")
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert 'name="override_hold"' in page
    response = client.post(
        reverse("ticket-escalate", args=[ticket.reference]),
        {"group": group.pk, "note": "SRM down?"},
        follow=True,
    )
    assert "held while the site is in a declared outage" in response.content.decode()
