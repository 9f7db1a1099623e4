"""The calendar at coordinator speed (issue #17, item 6): a rotation applied to a month
after a preview, a week or a month copied onto another, several ticked slots assigned at
once; swaps that wait for a coordinator's approval when the team asks for it, and swap
mails with the calendar's address."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from people.models import Role
from shifts import plan
from shifts.models import Booking, Closure, RotationRule, ShiftSettings, SwapState, Zone
from shifts.planning import PlanSpec, plan_make
from shifts.rota import ZoneHours
from shifts.services import ShiftForbidden, swap_approve, swap_decide, swap_request
from tests.factories import MembershipFactory, TeamFactory, shift_team
from tickets.models import OutboundMail

GENEVA = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 11, 16, 9, 0, tzinfo=GENEVA)  # a Monday morning
pytestmark = [pytest.mark.django_db, pytest.mark.frozen_at(NOW)]
SITE = "https://desk.example.org"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def team():
    return shift_team(
        {
            "elena": Role.COORDINATOR,
            "anna": Role.SHIFTER,
            "sofia": Role.SHIFTER,
            "pierre": Role.SHIFTER,
            "tomas": Role.TRAINEE,
            "paul": Role.EXPERT,
        },
        last_name="Doe",
    )


def as_(client, user):
    client.force_login(user)
    return client


def rotation(team):
    """Anna every Monday EU, Sofia Tue/Thu NA, Tomas shadows Anna."""
    RotationRule.objects.create(
        zone=team.eu, person=team.people["anna"], role="first_level", weekdays="1"
    )
    RotationRule.objects.create(
        zone=team.na, person=team.people["sofia"], role="first_level", weekdays="24"
    )
    RotationRule.objects.create(
        zone=team.eu, person=team.people["tomas"], role="trainee", weekdays="1"
    )


def preview(client, **query):
    return client.get(reverse("shift-plan"), {"team": "dast", **query})


def apply(client, page, **extra):
    spec = page.context["plan"].spec
    data = {
        "team": "dast",
        "kind": spec.kind,
        "target": spec.target.isoformat(),
        "source": spec.source.isoformat() if spec.source else "",
        "zone": spec.zone,
        "fingerprint": page.context["plan"].fingerprint,
        **extra,
    }
    return client.post(reverse("shift-plan-apply"), data)


def booked(team, zone=None):
    rows = Booking.objects.filter(zone__team=team)
    if zone is not None:
        rows = rows.filter(zone=zone)
    return sorted((b.zone.code, b.day, b.person.username, b.role) for b in rows)


# --- rotation ---------------------------------------------------------------------------------


def test_the_rotation_preview_lists_every_slot_it_would_book_and_books_nothing(client, team):
    rotation(team)
    Closure.objects.create(
        team=team, starts_on=date(2026, 12, 24), ends_on=date(2027, 1, 2), reason="CERN closure"
    )
    page = preview(as_(client, team.people["elena"]), kind="rotation", target="2026-12")
    assert page.status_code == 200
    made = page.context["plan"]
    new = [(ln.zone.code, ln.day.day, ln.person.username) for ln in made.new]
    # Mondays 7 14 21 (28 closed) for Anna and Tomas; Tuesdays 1 8 15 22 and Thursdays 3 10
    # 17 (24, 29, 31 closed) for Sofia.
    assert sorted(new) == sorted(
        [("EU", d, who) for d in (7, 14, 21) for who in ("anna", "tomas")]
        + [("NA", d, "sofia") for d in (1, 3, 8, 10, 15, 17, 22)]
    )
    closed = {(ln.zone.code, ln.day.day) for ln in made.skipped}
    assert closed == {("EU", 28), ("NA", 24), ("NA", 29), ("NA", 31)}
    html = page.content.decode()
    assert "Book these 13 slots" in html
    assert "closed that day" in html
    assert not Booking.objects.exists()


def test_a_coordinator_fills_the_month_from_the_rotation_in_one_post_and_keeps_what_is_there(
    client, team
):
    rotation(team)
    # Pierre already holds Monday 7 December EU: the rotation's Anna must not replace him.
    Booking.objects.create(
        zone=team.eu, day=date(2026, 12, 7), person=team.people["pierre"], role="first_level"
    )
    client = as_(client, team.people["elena"])
    page = preview(client, kind="rotation", target="2026-12")
    conflict = page.context["plan"].conflicts
    assert [(ln.day, ln.person.username) for ln in conflict] == [(date(2026, 12, 7), "anna")]
    html = page.content.decode()
    assert "conflict: Pierre Doe already booked there, kept" in html
    assert "1 conflict: that slot stays as booked" in html

    response = apply(client, page)

    assert response.status_code == 302
    assert response["Location"] == "/shifts/?team=dast&month=2026-12"
    eu = booked(team, team.eu)
    assert ("EU", date(2026, 12, 7), "pierre", "first_level") in eu
    assert ("EU", date(2026, 12, 7), "anna", "first_level") not in eu
    # Tomas shadows Pierre on the 7th (a first-level shifter is there).
    assert ("EU", date(2026, 12, 7), "tomas", "trainee") in eu
    assert [d.day for _, d, who, _ in eu if who == "anna"] == [14, 21, 28]
    assert len(booked(team, team.na)) == 10  # Tuesdays and Thursdays of December
    page = client.get(response["Location"])
    assert "Booked 17 slots from the rotation onto December 2026; 1 slot that conflicted" in (
        page.content.decode()
    )


def test_a_plan_that_changed_since_its_preview_is_refused_and_writes_nothing(client, team):
    rotation(team)
    client = as_(client, team.people["elena"])
    page = preview(client, kind="rotation", target="2026-12")
    # Meanwhile someone books a slot the preview meant for Sofia.
    Booking.objects.create(
        zone=team.na, day=date(2026, 12, 1), person=team.people["pierre"], role="first_level"
    )
    response = apply(client, page)
    assert response.status_code == 409
    assert "The calendar changed since the preview" in response.content.decode()
    assert booked(team) == [("NA", date(2026, 12, 1), "pierre", "first_level")]
    # The page shows the new preview, whose apply works.
    assert apply(client, response).status_code == 302
    assert len(booked(team)) == 18


def test_a_rotation_rule_is_added_from_its_page_and_bad_fields_say_which_and_why(client, team):
    client = as_(client, team.people["elena"])
    url = reverse("shift-rotation")
    anna = team.people["anna"]
    response = client.post(url, {"team": "dast", "zone": "EU", "person": f"{anna.pk}:first_level"})
    assert response.status_code == 400
    assert "Weekdays: Choose at least one weekday." in response.content.decode()
    response = client.post(
        url,
        {"team": "dast", "zone": "EU", "person": f"{anna.pk}:first_level", "weekdays": ["1", "6"]},
    )
    assert response.status_code == 400
    assert "Weekdays: EU has no shift on Sat" in response.content.decode()
    paul = team.people["paul"]  # an expert: not in the picker
    response = client.post(
        url, {"team": "dast", "zone": "EU", "person": f"{paul.pk}:first_level", "weekdays": "1"}
    )
    assert response.status_code == 400
    assert "Person: Select a valid choice." in response.content.decode()
    response = client.post(
        url, {"team": "dast", "zone": "XX", "person": f"{anna.pk}:first_level", "weekdays": "1"}
    )
    assert "Zone: Select a valid choice." in response.content.decode()
    assert not RotationRule.objects.exists()

    response = client.post(
        url,
        {"team": "dast", "zone": "EU", "person": f"{anna.pk}:first_level", "weekdays": ["1", "3"]},
    )
    assert response.status_code == 302
    rule = RotationRule.objects.get()
    assert (rule.zone, rule.person, rule.weekdays) == (team.eu, anna, "13")
    page = client.get(url, {"team": "dast"})
    assert "Mon, Wed" in page.content.decode()
    client.post(reverse("shift-rotation-delete", args=[rule.pk]), {"team": "dast"})
    assert not RotationRule.objects.exists()


def test_bad_plan_fields_are_a_400_naming_the_field(client, team):
    client = as_(client, team.people["elena"])
    page = preview(client, kind="rotation", target="2026-13")
    assert page.status_code == 400
    assert "Onto: “2026-13” is not a day (YYYY-MM-DD) or a month (YYYY-MM)" in (
        page.content.decode()
    )
    page = preview(client, kind="copy-week", target="2026-12-07")
    assert page.status_code == 400
    assert "Copy from: Say which week or month to copy." in page.content.decode()
    page = preview(client, kind="copy-month", source="2026-12", target="2026-12-15")
    assert "Onto: Copy onto another week or month than the one copied." in page.content.decode()
    page = preview(client, kind="shuffle", target="2026-12")
    assert "What: Select a valid choice." in page.content.decode()
    page = preview(client, kind="rotation", target="2026-12", zone="XX")
    assert "Zone: Select a valid choice." in page.content.decode()


# --- copies -----------------------------------------------------------------------------------


def test_a_week_is_copied_onto_another_week_keeping_what_is_booked_there(client, team):
    for day, who in ((23, "anna"), (24, "sofia"), (26, "pierre")):
        Booking.objects.create(
            zone=team.eu, day=date(2026, 11, day), person=team.people[who], role="first_level"
        )
    Booking.objects.create(
        zone=team.eu, day=date(2026, 12, 8), person=team.people["pierre"], role="first_level"
    )
    client = as_(client, team.people["elena"])
    # Any day of the week names the week.
    page = preview(client, kind="copy-week", source="2026-11-25", target="2026-12-09")
    assert page.status_code == 200
    assert "the week of Mon 23 Nov onto the week of Mon 07 Dec 2026" in page.content.decode()
    assert [ln.outcome for ln in page.context["plan"].lines] == [
        plan.Outcome.NEW,
        plan.Outcome.CONFLICT,
        plan.Outcome.NEW,
    ]
    assert apply(client, page).status_code == 302
    december = [b for b in booked(team) if b[1].month == 12]
    assert december == [
        ("EU", date(2026, 12, 7), "anna", "first_level"),
        ("EU", date(2026, 12, 8), "pierre", "first_level"),
        ("EU", date(2026, 12, 10), "pierre", "first_level"),
    ]


def test_a_month_is_copied_nth_weekday_onto_nth_weekday(client, team):
    # November 2026: Tue 10 is its 2nd Tuesday, Mon 30 its 5th Monday (December has four).
    Booking.objects.create(
        zone=team.na, day=date(2026, 11, 10), person=team.people["sofia"], role="first_level"
    )
    Booking.objects.create(
        zone=team.eu, day=date(2026, 11, 30), person=team.people["anna"], role="first_level"
    )
    client = as_(client, team.people["elena"])
    page = preview(client, kind="copy-month", source="2026-11", target="2026-12")
    made = page.context["plan"]
    assert [(ln.day, ln.person.username) for ln in made.new] == [(date(2026, 12, 8), "sofia")]
    assert [(ln.day, ln.person.username) for ln in made.left_out] == [(date(2026, 11, 30), "anna")]
    assert "fall on a fifth weekday" in page.content.decode()
    apply(client, page)
    assert ("NA", date(2026, 12, 8), "sofia", "first_level") in booked(team)


def test_month_days_map_the_nth_weekday_and_leave_out_a_missing_fifth():
    days = plan.month_days(date(2026, 11, 1), date(2026, 12, 1))
    assert days[date(2026, 11, 2)] == date(2026, 12, 7)  # first Monday
    assert days[date(2026, 11, 10)] == date(2026, 12, 8)  # second Tuesday
    assert date(2026, 11, 30) not in days  # a fifth Monday December lacks
    assert len(set(days.values())) == len(days)


def test_a_trainee_is_not_planned_alone_on_a_slot():
    hours = ZoneHours("EU", time(8), timedelta(hours=8), frozenset({1}))
    calendar = plan.Calendar(
        zones={"EU": hours},
        tz=GENEVA,
        closures=[],
        bookings={},
        roles={1: frozenset({"first_level"}), 2: frozenset({"trainee"})},
        now=NOW,
    )
    monday = date(2026, 12, 7)
    lines = plan.check(
        [
            plan.Proposal("EU", monday, 2, "trainee"),
            plan.Proposal("EU", monday + (monday - monday), 1, "first_level"),
        ],
        calendar,
    )
    assert [ln.outcome for ln in lines] == [plan.Outcome.NEW, plan.Outcome.NEW]
    alone = plan.check([plan.Proposal("EU", monday, 2, "trainee")], calendar)
    assert [ln.outcome for ln in alone] == [plan.Outcome.TRAINEE_ALONE]
    no_role = plan.check([plan.Proposal("EU", monday, 2, "first_level")], calendar)
    assert [ln.outcome for ln in no_role] == [plan.Outcome.NO_ROLE]


# --- several slots at once --------------------------------------------------------------------


def test_ticked_slots_are_assigned_at_once_and_the_refused_ones_are_named(client, team):
    Booking.objects.create(
        zone=team.eu, day=date(2026, 11, 19), person=team.people["pierre"], role="first_level"
    )
    anna = team.people["anna"]
    client = as_(client, team.people["elena"])
    slots = ["EU|2026-11-18", "NA|2026-11-18", "EU|2026-11-19", "EU|2026-11-21", "EU|2026-11-13"]
    response = client.post(
        reverse("shift-assign-many"),
        {"team": "dast", "month": "2026-11", "person": f"{anna.pk}:first_level", "slot": slots},
        follow=True,
    )
    html = response.content.decode()
    assert "Anna Doe is booked on 2 slots." in html
    assert "Not booked on EU Thu 19 Nov: conflict: Pierre Doe already booked there, kept." in html
    assert "Not booked on EU Sat 21 Nov: EU has no shift that day." in html
    assert "Not booked on EU Fri 13 Nov: the slot has started." in html
    assert [(z, d.day) for z, d, who, _ in booked(team) if who == "anna"] == [
        ("EU", 18),
        ("NA", 18),
    ]


def test_assigning_without_a_slot_or_a_person_says_which_field(client, team):
    client = as_(client, team.people["elena"])
    data = {"team": "dast", "month": "2026-11"}
    html = client.post(reverse("shift-assign-many"), data, follow=True).content.decode()
    assert "Person: Choose who to assign." in html
    anna = team.people["anna"]
    html = client.post(
        reverse("shift-assign-many"), {**data, "person": f"{anna.pk}:first_level"}, follow=True
    ).content.decode()
    assert "Slot: tick at least one slot on the calendar." in html
    html = client.post(
        reverse("shift-assign-many"),
        {**data, "person": f"{anna.pk}:first_level", "slot": "EU|18 Nov"},
        follow=True,
    ).content.decode()
    assert "Slot: “EU|18 Nov” is not a zone and a day" in html
    assert not Booking.objects.exists()


def test_the_calendar_shows_a_coordinator_the_tools_and_a_shifter_none(client, team):
    client = as_(client, team.people["elena"])
    html = client.get(reverse("shift-calendar"), {"month": "2026-11"}).content.decode()
    assert "Fill November from the rotation" in html
    assert 'name="slot" value="EU|2026-11-18" form="assign-many"' in html
    assert 'value="EU|2026-11-13"' not in html  # a past slot has no tick box
    html = as_(client, team.people["anna"]).get(reverse("shift-calendar")).content.decode()
    assert "assign-many" not in html
    assert "from the rotation" not in html


# --- who may ----------------------------------------------------------------------------------


def test_only_the_teams_coordinators_use_the_tools(client, team):
    rotation(team)
    anna = team.people["anna"]
    shifter = as_(Client(), anna)
    assert preview(shifter, kind="rotation", target="2026-12").status_code == 403
    posts = {
        "shift-plan-apply": {"kind": "rotation", "target": "2026-12", "fingerprint": "x"},
        "shift-assign-many": {"person": f"{anna.pk}:first_level", "slot": "EU|2026-11-18"},
        "shift-rotation": {"zone": "EU", "person": f"{anna.pk}:first_level", "weekdays": "2"},
        "shift-settings": {"swaps_need_approval": "on"},
    }
    for name, data in posts.items():
        assert shifter.post(reverse(name), {"team": "dast", **data}).status_code == 403, name
    rule = RotationRule.objects.first()
    assert shifter.post(reverse("shift-rotation-delete", args=[rule.pk])).status_code == 403
    # A coordinator of another team does not even find this one.
    other = MembershipFactory(team=TeamFactory(slug="biomed"), role=Role.COORDINATOR).user
    stranger = as_(Client(), other)
    assert preview(stranger, team="dast", kind="rotation", target="2026-12").status_code == 404
    assert not Booking.objects.exists()
    assert RotationRule.objects.count() == 3
    assert not ShiftSettings.objects.exists()


def test_the_tools_need_csrf(team):
    rotation(team)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(team.people["elena"])
    page = preview(strict, kind="rotation", target="2026-12")
    assert page.status_code == 200
    assert apply(strict, page).status_code == 403
    anna = team.people["anna"]
    data = {"team": "dast", "person": f"{anna.pk}:first_level", "slot": "EU|2026-11-18"}
    assert strict.post(reverse("shift-assign-many"), data).status_code == 403
    assert not Booking.objects.exists()


# --- swaps ------------------------------------------------------------------------------------


def book(team, who, day=date(2026, 11, 18), zone=None):
    return Booking.objects.create(
        zone=zone or team.eu, day=day, person=team.people[who], role="first_level"
    )


def mails_to(who):
    return list(OutboundMail.objects.filter(to=f"{who}@example.org").order_by("pk"))


def test_a_swap_request_mail_links_to_the_request_on_the_calendar(team):
    mine = book(team, "anna")
    swap = swap_request(booking=mine, asked=team.people["pierre"], by=team.people["anna"])
    (mail,) = mails_to("pierre")
    assert f"{SITE}/shifts/?team=dast&month=2026-11#swap-{swap.pk}" in mail.body_text


def test_with_approval_on_an_accepted_swap_waits_for_a_coordinator_who_is_told(client, team):
    ShiftSettings.objects.create(team=team, swaps_need_approval=True)
    mine = book(team, "anna")
    form = as_(Client(), team.people["anna"]).get(reverse("shift-swap", args=[mine.pk]))
    assert "until they accept and a coordinator approves the swap" in form.content.decode()
    swap = swap_request(booking=mine, asked=team.people["pierre"], by=team.people["anna"])
    swap_decide(swap=swap, by=team.people["pierre"], accept=True)
    swap.refresh_from_db()
    mine.refresh_from_db()
    assert swap.state == SwapState.APPROVAL
    assert mine.person.username == "anna"  # nothing changes hands yet
    (told,) = mails_to("elena")
    assert "after you accept it.\nAccept or decline it on the shift calendar:" in (
        mails_to("pierre")[0].body_text
    )
    assert told.subject == "[ATLAS DAST shifts] Swap to approve: EU on Wednesday 18 November"
    assert "Pierre Doe takes Anna Doe's EU on Wednesday 18 November shift." in told.body_text
    assert f"{SITE}/shifts/?team=dast&month=2026-11#swap-{swap.pk}" in told.body_text
    assert "waiting for a coordinator" in mails_to("anna")[-1].subject

    # The coordinator sees it on the calendar: the booking marked, Approve and Refuse.
    html = as_(client, team.people["elena"]).get(reverse("shift-calendar")).content.decode()
    cell = html.split('data-zone="EU" data-day="2026-11-18"')[1].split("</td>")[0]
    assert 'class="badge wait"' in cell
    line = html.split(f'id="swap-{swap.pk}"')[1].split("</li>")[0]
    assert "Waiting for a coordinator" in line
    assert reverse("shift-swap-answer", args=[swap.pk, "approve"]) in line
    # Neither shifter may approve it.
    for who in ("anna", "pierre"):
        answer = as_(Client(), team.people[who]).post(
            reverse("shift-swap-answer", args=[swap.pk, "approve"])
        )
        assert answer.status_code == 403
        with pytest.raises(ShiftForbidden):
            swap_approve(swap=swap, by=team.people[who], approve=True)

    response = client.post(reverse("shift-swap-answer", args=[swap.pk, "approve"]), follow=True)
    assert "Swap request approved." in response.content.decode()
    swap.refresh_from_db()
    mine.refresh_from_db()
    assert (swap.state, swap.approved_by, mine.person.username) == (
        SwapState.ACCEPTED,
        team.people["elena"],
        "pierre",
    )
    for who in ("anna", "pierre"):
        assert mails_to(who)[-1].subject.endswith("Swap approved: EU on Wednesday 18 November")


def test_a_refused_swap_leaves_the_bookings_and_frees_the_booking_for_another_request(team):
    ShiftSettings.objects.create(team=team, swaps_need_approval=True)
    mine = book(team, "anna")
    swap = swap_request(booking=mine, asked=team.people["pierre"], by=team.people["anna"])
    swap_decide(swap=swap, by=team.people["pierre"], accept=True)
    # While it waits, the booking cannot be offered again.
    with pytest.raises(Exception, match="already has a swap request"):
        swap_request(booking=mine, asked=team.people["sofia"], by=team.people["anna"])
    swap_approve(swap=swap, by=team.people["elena"], approve=False)
    swap.refresh_from_db()
    mine.refresh_from_db()
    assert (swap.state, mine.person.username) == (SwapState.REFUSED, "anna")
    assert "Swap refused" in mails_to("pierre")[-1].subject
    swap_request(booking=mine, asked=team.people["sofia"], by=team.people["anna"])


def test_without_approval_the_swap_is_done_at_once_and_the_coordinator_hears_of_it(team):
    mine = book(team, "anna")
    swap = swap_request(booking=mine, asked=team.people["pierre"], by=team.people["anna"])
    swap_decide(swap=swap, by=team.people["pierre"], accept=True)
    mine.refresh_from_db()
    assert mine.person.username == "pierre"
    (told,) = mails_to("elena")
    assert told.subject.endswith("Swap done: EU on Wednesday 18 November")
    assert f"#swap-{swap.pk}" in told.body_text
    assert f"{SITE}/shifts/" in mails_to("anna")[-1].body_text


def test_a_swap_on_a_zone_without_coordinator_tells_every_coordinator_of_the_team(team):
    second = MembershipFactory(team=team, role=Role.COORDINATOR).user
    theirs = book(team, "anna", zone=team.na)  # NA has no coordinator of its own
    swap = swap_request(booking=theirs, asked=team.people["pierre"], by=team.people["anna"])
    swap_decide(swap=swap, by=team.people["pierre"], accept=True)
    assert len(mails_to("elena")) == 1
    assert OutboundMail.objects.filter(to=second.email, subject__contains="Swap done").exists()


def test_the_approval_setting_is_a_coordinators_switch_on_the_calendar(client, team):
    client = as_(client, team.people["elena"])
    response = client.post(
        reverse("shift-settings"), {"team": "dast", "swaps_need_approval": "on"}, follow=True
    )
    assert "Swaps now wait for a coordinator to approve them." in response.content.decode()
    assert ShiftSettings.objects.get(team=team).swaps_need_approval
    page = client.get(reverse("shift-calendar")).content.decode()
    assert 'name="swaps_need_approval" checked' in page
    client.post(reverse("shift-settings"), {"team": "dast"})
    assert not ShiftSettings.objects.get(team=team).swaps_need_approval


def test_plan_make_reads_only_the_teams_zones(team):
    other = TeamFactory(slug="biomed")
    Zone.objects.create(team=other, code="EU", name="Europe", starts_at=time(9))
    rotation(team)
    made = plan_make(team=other, spec=PlanSpec("rotation", date(2026, 12, 1)))
    assert made.lines == []
