"""The shifter's queue: views with counts, filters that say what is wrong, sort, pages, and
bulk actions on ticked tickets, in a constant number of queries."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from people.models import Role
from tests.factories import (
    MembershipFactory,
    MessageFactory,
    RequesterFactory,
    TeamFactory,
    TicketFactory,
)
from tickets.models import Attachment, Status, Ticket

GENEVA = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=GENEVA)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen_at(NOW)]


@pytest.fixture
def desk(client):
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    anna = MembershipFactory(team=team, role=Role.SHIFTER).user
    tomas = MembershipFactory(team=team, role=Role.TRAINEE).user
    client.force_login(anna)
    t = {
        "new": TicketFactory(team=team, subject="New one", status=Status.NEW),
        "mine": TicketFactory(team=team, subject="Mine open", status=Status.OPEN, assignee=anna),
        "shadowed": TicketFactory(
            team=team, subject="Shadowed", status=Status.OPEN, assignee=anna, shadow=tomas
        ),
        "user": TicketFactory(team=team, subject="Asked the user", status=Status.WAITING_ON_USER),
        "expert": TicketFactory(
            team=team, subject="Asked PanDA", status=Status.WAITING_ON_EXPERT, assignee=anna
        ),
        "late": TicketFactory(
            team=team, subject="Late one", status=Status.OPEN, overdue_since=NOW, assignee=tomas
        ),
        "closed": TicketFactory(team=team, subject="Done long ago", status=Status.CLOSED),
    }
    TicketFactory(team=TeamFactory(slug="biomed"), subject="Biomed proxy")
    return type("Desk", (), {"team": team, "anna": anna, "tomas": tomas, "t": t})


def listing(client, **params) -> str:
    return client.get(reverse("ticket-list"), params).content.decode()


@pytest.mark.parametrize(
    ("view", "shown", "hidden"),
    [
        ("new", ["New one", "Asked the user"], ["Mine open", "Done long ago"]),
        ("mine", ["Mine open", "Shadowed", "Asked PanDA"], ["New one", "Late one"]),
        ("waiting_user", ["Asked the user"], ["Mine open"]),
        ("waiting_expert", ["Asked PanDA"], ["Asked the user"]),
        ("overdue", ["Late one"], ["Mine open"]),
        ("done", ["Done long ago"], ["New one"]),
        ("all", ["Done long ago", "New one"], ["Biomed proxy"]),
    ],
)
def test_each_view_holds_its_tickets_and_never_another_teams(client, desk, view, shown, hidden):
    page = listing(client, view=view)
    for subject in shown:
        assert subject in page
    for subject in hidden:
        assert subject not in page


def test_the_trainee_sees_their_shadow_tickets(client, desk):
    client.force_login(desk.tomas)
    page = listing(client, view="shadow")
    assert "Shadowed" in page
    assert "Mine open" not in page


def test_every_view_shows_its_count(client, desk):
    page = listing(client, view="open")
    assert 'Mine <span class="n">3</span>' in page
    assert 'Overdue <span class="n">1</span>' in page
    assert "All <span" not in page  # the archive views are not counted


def test_a_search_shows_no_queue_counts_beside_its_results(client, desk):
    page = listing(client, q="Mine")
    assert "Mine open" in page
    assert '<span class="n">' not in page


def test_a_row_escapes_what_mail_put_in_it_and_shows_its_badges(client, desk):
    requester = RequesterFactory(name='Eve <img src=x onerror="alert(1)">')
    TicketFactory(
        team=desk.team,
        subject="<script>alert(2)</script> & more",
        requester=requester,
        status=Status.NEW,
        priority=4,
        after_hours=True,
        unseen_reply_at=NOW,
    )
    page = listing(client, view="new")
    assert "<script>alert(2)" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt; &amp; more" in page
    assert "<img src=x" not in page
    assert "Eve &lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert 'title="Urgent priority">▲▲</span>' in page
    assert "after hours</span>" in page
    assert "new reply</span>" in page
    assert (
        'Late one</a> <span class="badge-late" title="Overdue since 18 Nov 09:00 UTC">'
        in listing(client, view="overdue")
    )


def test_filters_combine_and_a_bad_value_is_named_while_the_others_apply(client, desk):
    Ticket.objects.filter(pk=desk.t["mine"].pk).update(category="panda", zone="EU")
    page = listing(client, view="all", category="panda", zone="eu")
    assert "Mine open" in page
    assert "Shadowed" not in page
    page = listing(client, view="all", category="panda", assignee="bob")
    assert "Choose a person, or “none”." in page
    assert "Mine open" in page
    assert "Shadowed" not in page
    page = listing(client, view="all", assignee="none", status="new")
    assert "New one" in page
    assert "Late one" not in page


def test_requester_date_range_and_attachment_filters(client, desk, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    jane = RequesterFactory(email="jane.doe@cern.ch")
    Ticket.objects.filter(pk=desk.t["user"].pk).update(
        requester=jane, created_at=NOW - timedelta(days=10)
    )
    page = listing(client, view="all", requester="jane.doe")
    assert "Asked the user" in page
    assert "New one" not in page
    page = listing(client, view="all", opened_to=(NOW - timedelta(days=5)).date().isoformat())
    assert "Asked the user" in page
    assert "New one" not in page
    page = listing(client, view="all", opened_from="2026-11-20", opened_to="2026-11-01")
    assert "Must not be before" in page
    message = MessageFactory(ticket=desk.t["late"])
    item = Attachment(message=message, filename="log.txt", size=3, sha256="0" * 64)
    item.file.save("log.txt", ContentFile(b"log"), save=True)
    page = listing(client, view="all", has_attachment="on")
    assert "Late one" in page
    assert "New one" not in page


def test_sort_by_priority_puts_urgent_first(client, desk):
    Ticket.objects.filter(pk=desk.t["user"].pk).update(priority=4)
    page = listing(client, view="all", sort="priority")
    assert page.index("Asked the user") < page.index("New one")


def test_the_queue_costs_the_same_queries_for_10_or_50_tickets(client, desk):
    client.get(reverse("ticket-list"))  # warm the session
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("ticket-list"), {"view": "all"}).status_code == 200
    for n in range(43):
        TicketFactory(team=desk.team, subject=f"Bulk {n}", assignee=desk.tomas)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("ticket-list"), {"view": "all"})
    assert len(many) == len(few)


def test_bulk_assign_category_and_close(client, desk):
    ids = [desk.t["new"].pk, desk.t["user"].pk]
    url = reverse("ticket-bulk")
    client.post(url, {"tickets": ids, "action": "assign", "assignee": desk.tomas.pk})
    assert set(Ticket.objects.filter(pk__in=ids).values_list("assignee", flat=True)) == {
        desk.tomas.pk
    }
    client.post(url, {"tickets": ids, "action": "category", "category": "athena"})
    assert set(Ticket.objects.filter(pk__in=ids).values_list("category", flat=True)) == {"athena"}
    client.post(url, {"tickets": ids, "action": "close"})
    assert set(Ticket.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"closed"}


def test_bulk_merge_goes_into_the_oldest_ticked(client, desk):
    older, newer = desk.t["user"], desk.t["new"]
    Ticket.objects.filter(pk=older.pk).update(created_at=NOW - timedelta(days=3))
    client.post(reverse("ticket-bulk"), {"tickets": [newer.pk, older.pk], "action": "merge"})
    newer.refresh_from_db()
    assert newer.merged_into_id == older.pk


def test_bulk_refuses_missing_choices_and_other_teams_tickets(client, desk):
    url = reverse("ticket-bulk")
    response = client.post(url, {"tickets": [desk.t["new"].pk], "action": "assign"}, follow=True)
    assert "Choose whom to assign them to." in response.content.decode()
    foreign = Ticket.objects.get(subject="Biomed proxy")
    response = client.post(url, {"tickets": [foreign.pk], "action": "close"}, follow=True)
    assert "Tick the tickets first." in response.content.decode()
    foreign.refresh_from_db()
    assert foreign.status != Status.CLOSED
    outsider = MembershipFactory(team=TeamFactory(slug="lhcb")).user
    response = client.post(
        url,
        {"tickets": [desk.t["new"].pk], "action": "assign", "assignee": outsider.pk},
        follow=True,
    )
    assert "Choose someone of the team the tickets belong to." in response.content.decode()


def _more_filters(page: str) -> str:
    """The "More filters" fold's opening tag and what it holds."""
    return page.split('<details class="more-filters"', 1)[1].split("</details>", 1)[0]


def test_the_filters_other_apps_add_are_folded_away_until_one_is_set_or_wrong(client, desk):
    folded = _more_filters(listing(client, view="all"))
    assert folded.startswith(">")  # closed
    assert "Escalated to" in folded
    assert "Opened during" in folded
    assert "Escalated to" not in listing(client, view="all").split('class="more-filters"')[0]
    set_one = _more_filters(listing(client, view="all", escalated_from="2026-11-01"))
    assert set_one.startswith(" open>")
    wrong = _more_filters(listing(client, view="all", opened_during="last week"))
    assert wrong.startswith(" open>")
    assert "Two instants with their offset" in wrong
    # The queue's own filters stay outside the fold, a bad one of them opens only them.
    page = listing(client, view="all", opened_from="2026-11-20", opened_to="2026-11-01")
    assert _more_filters(page).startswith(">")
    assert "Must not be before" in page.split('class="more-filters"')[0]
