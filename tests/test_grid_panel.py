"""The ticket page's grid panel: ids named anywhere in the thread, linked to the monitors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone as tz

from escalation.models import ExpertGroup, GroupKind
from grid.models import AliasKind, Downtime, Site, SiteAlias
from tests.factories import MembershipFactory, MessageFactory, TeamFactory, TicketFactory
from tickets.gridpanel import grid_links, ticket_grid_ids
from tickets.gridtext import GridIds

pytestmark = pytest.mark.django_db


def test_links_follow_the_url_templates_and_quote_what_they_insert(settings):
    settings.GRID_MONITOR_URLS = {
        "task": "https://mon.example/task/{id}/",
        "dataset": "https://rucio.example/did?scope={scope}&name={name}",
    }
    ids = GridIds(tasks=(15934870,), datasets=("user.jdoe:out/ a&b",), queues=("ANALY_BNL",))
    groups = dict(grid_links(ids))
    assert groups["JEDI tasks"][0].url == "https://mon.example/task/15934870/"
    assert (
        groups["Datasets"][0].url == "https://rucio.example/did?scope=user.jdoe&name=out%2F%20a%26b"
    )
    assert groups["Queues"][0].url == ""  # no template configured: shown, not linked


def test_a_container_named_with_a_trailing_slash_links_to_its_rucio_name(settings):
    settings.GRID_MONITOR_URLS = {"dataset": "https://rucio.example/did?scope={scope}&name={name}"}
    ids = GridIds(datasets=("user.jdoe:user.jdoe.test1.out/",))
    link = dict(grid_links(ids))["Datasets"][0]
    assert link.label == "user.jdoe:user.jdoe.test1.out/"
    assert link.url == "https://rucio.example/did?scope=user.jdoe&name=user.jdoe.test1.out"


def test_the_panel_lists_ids_from_the_subject_and_every_message(client):
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    client.force_login(MembershipFactory(team=team).user)
    ticket = TicketFactory(team=team, subject="JEDI task 15934870 exhausted")
    MessageFactory(ticket=ticket, body_text="See https://bigpanda.cern.ch/job?pandaid=6520941449")
    MessageFactory(ticket=ticket, body_text="Output user.jdoe:user.jdoe.15934870.out is empty.")
    ids = ticket_grid_ids(ticket)
    assert ids.tasks == (15934870,)
    assert ids.jobs == (6520941449,)
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert 'aria-label="Grid identifiers"' in page
    assert "https://bigpanda.cern.ch/task/15934870/" in page
    assert "https://bigpanda.cern.ch/job?pandaid=6520941449" in page
    assert "user.jdoe:user.jdoe.15934870.out" in page


def test_no_ids_no_panel(client):
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    client.force_login(MembershipFactory(team=team).user)
    ticket = TicketFactory(team=team, subject="Password reset")
    MessageFactory(ticket=ticket, body_text="I forgot my password.")
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert "Grid identifiers" not in page


def test_site_names_of_the_directories_are_linked_where_a_thread_writes_them_plain(
    client, settings
):
    cache.clear()  # the names found in a text are kept by the text and the directories
    settings.GRID_MONITOR_URLS = {
        "site": "https://cric.example/site/{name}/",
        "queue": "https://mon.example/queue/{name}/",
    }
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    fzk = Site.objects.create(name="FZK-LCG2", updated_at=datetime(2026, 1, 5, tzinfo=UTC))
    SiteAlias.objects.create(name="FZK-LCG2", site=fzk, kind=AliasKind.ATLAS)
    SiteAlias.objects.create(name="FZK-LCG2_MCORE", site=fzk, kind=AliasKind.QUEUE)
    ExpertGroup.objects.create(team=team, kind=GroupKind.SITE, name="PIC", email="pic@example.org")
    client.force_login(MembershipFactory(team=team).user)
    ticket = TicketFactory(team=team, subject="Transfers to FZK-LCG2 fail")
    MessageFactory(
        ticket=ticket,
        body_text="Jobs on FZK-LCG2_MCORE and at PIC fail too; here is a pic of the error.",
    )
    ids = ticket_grid_ids(ticket)
    assert ids.sites == ("FZK-LCG2", "PIC")
    assert ids.queues == ("FZK-LCG2_MCORE",)
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert 'href="https://cric.example/site/FZK-LCG2/"' in page
    assert 'href="https://cric.example/site/PIC/"' in page
    assert 'href="https://mon.example/queue/FZK-LCG2_MCORE/"' in page
    assert "https://cric.example/site/pic/" not in page


def test_the_downtime_badge_says_its_times_in_the_viewers_zone_and_names_it():
    """The times were converted to the viewer's zone but labelled UTC."""
    end = datetime(2026, 3, 13, 18, 0, tzinfo=UTC)
    outage = Downtime(
        key="1",
        gocdb_site="FZK-LCG2",
        severity="OUTAGE",
        classification="SCHEDULED",
        start_at=datetime(2026, 3, 13, 6, 0, tzinfo=UTC),
        end_at=end,
        seen_at=end,
    )
    found = {"site": Site(name="FZK-LCG2"), "named_as": ["FZK-LCG2"], "ongoing": [outage]}
    with tz.override("Asia/Tokyo"):
        html = render_to_string("grid/panel.html", {"sites": [found]})
    assert "Sat 14 Mar 03:00 JST" in html  # 18:00 UTC is 03:00 the next day in Tokyo
    assert "UTC" not in html
