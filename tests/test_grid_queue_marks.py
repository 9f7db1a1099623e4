"""The queue's "site in downtime" icon: a row whose ticket names a site (or a queue of it)
in a declared outage carries an icon saying which site and until when; an outage that has
ended, one only "at risk", or another site's outage puts none; names are escaped; and a page
of 50 tickets costs the same few queries as a page of one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from grid.models import AliasKind, Downtime, Site, SiteAlias
from grid.services import tickets_mentions_index
from tests.factories import MailboxFactory, MembershipFactory, TeamFactory, TicketFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2024, 3, 12, 10, 0, tzinfo=UTC)
FZK_END = datetime(2024, 3, 13, 18, 0, tzinfo=UTC)
ICON = 'class="row-mark mark-outage"'


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def site(name: str, *aliases: tuple[str, str]) -> Site:
    made = Site.objects.create(name=name, gocdb_name=name, cloud="DE", updated_at=NOW)
    SiteAlias.objects.create(name=name.upper(), site=made, kind=AliasKind.GOCDB)
    for alias, kind in aliases:
        SiteAlias.objects.create(name=alias.upper(), site=made, kind=kind)
    return made


def downtime(gocdb_site: str, start, end, severity: str = "OUTAGE") -> Downtime:
    return Downtime.objects.create(
        key=f"{gocdb_site}-{start:%H%M}-{severity}",
        gocdb_site=gocdb_site,
        severity=severity,
        classification="SCHEDULED",
        start_at=start,
        end_at=end,
        seen_at=NOW,
    )


@pytest.fixture
def desk(client):
    team = TeamFactory(slug="dast", ticket_prefix="DAST", name="ATLAS DAST")
    MailboxFactory(team=team)
    client.force_login(MembershipFactory(team=team).user)
    site("FZK-LCG2", ("ANALY_FZK", AliasKind.QUEUE))
    site("CERN-PROD")
    site("SFU-LCG2")
    downtime("FZK-LCG2", NOW - timedelta(hours=4), FZK_END)
    downtime("CERN-PROD", NOW - timedelta(days=2), NOW - timedelta(hours=1))  # over
    downtime("SFU-LCG2", NOW - timedelta(hours=1), FZK_END, severity="WARNING")  # at risk
    return team


def tickets(team, *subjects: str):
    made = [TicketFactory(team=team, subject=s) for s in subjects]
    tickets_mentions_index(tickets=made)
    return made


def queue(client) -> str:
    return client.get(reverse("ticket-list"), {"view": "all"}).content.decode()


def row_of(page: str, ticket) -> str:
    """The table row of ``ticket`` in the queue's HTML."""
    start = page.index(f'name="tickets" value="{ticket.pk}"')
    return page[page.rindex("<tr", 0, start) : page.index("</tr>", start)]


def test_a_ticket_naming_a_queue_of_a_site_in_outage_shows_the_icon_with_site_and_end(client, desk):
    (down,) = tickets(desk, "All my jobs fail at ANALY_FZK")
    row = row_of(queue(client), down)
    label = "Site in downtime: ANALY_FZK (FZK-LCG2) until 2024-03-13 18:00 UTC"
    assert ICON in row
    assert f'title="{label}"' in row
    assert f'aria-label="{label}"' in row
    assert 'role="img"' in row


def test_the_site_named_by_its_own_name_is_not_repeated(client, desk):
    (down,) = tickets(desk, "Transfers from FZK-LCG2 fail")
    row = row_of(queue(client), down)
    assert 'title="Site in downtime: FZK-LCG2 until 2024-03-13 18:00 UTC"' in row


def test_an_ended_outage_a_warning_or_another_site_shows_no_icon(client, desk):
    ended, warned, other, quiet = tickets(
        desk,
        "Jobs at CERN-PROD were killed",
        "Slow jobs at SFU-LCG2",
        "Stage-in fails at NOWHERE-LCG2",
        "Password reset",
    )
    page = queue(client)
    for ticket in (ended, warned, other, quiet):
        assert ICON not in row_of(page, ticket)
    assert ICON not in page


def test_the_icon_goes_when_the_outage_ends(client, desk, frozen):
    (down,) = tickets(desk, "All my jobs fail at ANALY_FZK")
    assert ICON in row_of(queue(client), down)
    frozen.move_to(FZK_END + timedelta(minutes=1))
    assert ICON not in row_of(queue(client), down)


def test_the_site_and_queue_names_are_escaped(client, desk):
    evil = site('EVIL"><script>alert(1)</script>')
    SiteAlias.objects.create(name="ANALY_EVIL", site=evil, kind=AliasKind.QUEUE)
    downtime(evil.gocdb_name, NOW - timedelta(hours=1), FZK_END)
    (ticket,) = tickets(desk, "Jobs fail at ANALY_EVIL")
    row = row_of(queue(client), ticket)
    assert ICON in row
    assert "<script>" not in row
    assert "ANALY_EVIL (EVIL&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;)" in row


def test_two_sites_in_outage_are_both_named_once_each(client, desk):
    site("DESY-HH", ("ANALY_DESY", AliasKind.QUEUE))
    downtime("DESY-HH", NOW - timedelta(hours=1), NOW + timedelta(hours=2))
    (ticket,) = tickets(desk, "ANALY_FZK and FZK-LCG2 and ANALY_DESY all fail")
    row = row_of(queue(client), ticket)
    assert row.count(ICON) == 1
    label = (
        "Site in downtime: ANALY_DESY (DESY-HH) until 2024-03-12 12:00 UTC; "
        "ANALY_FZK (FZK-LCG2) until 2024-03-13 18:00 UTC"
    )
    assert f'aria-label="{label}"' in row  # FZK-LCG2 once, though named twice


def test_a_page_of_50_tickets_costs_the_same_queries_as_a_page_of_one(client, desk):
    tickets(desk, "Jobs fail at ANALY_FZK")
    with CaptureQueriesContext(connection) as one:
        assert queue(client).count(ICON) == 1
    tickets(desk, *[f"Jobs {n} fail at ANALY_FZK or FZK-LCG2" for n in range(49)])
    with CaptureQueriesContext(connection) as fifty:
        assert queue(client).count(ICON) == 50
    mentions = [q["sql"] for q in fifty.captured_queries if "grid_ticketmention" in q["sql"]]
    assert len(mentions) == 1  # one query for the page's tickets, not one per row
    assert len(fifty) == len(one)
