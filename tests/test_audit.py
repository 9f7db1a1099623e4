"""The audit trail: sign-ins and their failures and lockouts, role and permission changes by
hand, in the admin and by single sign-on rules, people's saves of mailboxes, expert groups,
zones and rules, and every CSV export, each with who, when and the client address; kept
append-only, shown read-only to admins and exported as CSV."""

from __future__ import annotations

import csv
import io
import ipaddress
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.urls import reverse

from accounts.audit import audit_record, serving
from accounts.models import AuditEntry, AuditKind, AuditVia
from escalation.models import ExpertGroup
from people.models import Membership, Role
from tests.factories import MailboxFactory, MembershipFactory, TeamFactory, UserFactory, shift_team

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_at(datetime(2025, 6, 2, 10, 0, tzinfo=UTC))]


@pytest.fixture
def admin_user():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def entries(kind):
    return list(AuditEntry.objects.filter(kind=kind).order_by("id"))


def test_a_wrong_password_is_a_failed_sign_in_from_the_client_behind_the_proxy(client, settings):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.5/32")]
    UserFactory(username="anna")
    client.post(
        "/login/",
        {"username": "anna", "password": "wrong"},
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7",
    )
    [failed] = entries(AuditKind.SIGN_IN_FAILED)
    assert (failed.subject, failed.address) == ("anna", "198.51.100.7")
    assert failed.at == datetime(2025, 6, 2, 10, 0, tzinfo=UTC)


def test_a_lockout_is_recorded_with_when_it_ends(client, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    UserFactory(username="anna")
    for _ in range(3):
        response = client.post("/login/", {"username": "anna", "password": "wrong"})
    assert response.status_code == 429
    [lockout] = entries(AuditKind.LOCKOUT)
    assert lockout.subject == "anna"
    assert lockout.data["until"].startswith("2025-06-02T10:15")
    assert len(entries(AuditKind.SIGN_IN_FAILED)) == 2


def test_a_sign_in_and_out_say_who_and_how(client):
    UserFactory(username="anna")
    client.post("/login/", {"username": "anna", "password": "pw"})
    client.post("/logout/")
    [sign_in] = entries(AuditKind.SIGN_IN)
    assert (sign_in.actor_name, sign_in.data, sign_in.via) == (
        "anna",
        {"method": "password"},
        "page",
    )
    assert entries(AuditKind.SIGN_OUT)[0].actor_name == "anna"


def test_a_role_added_and_removed_in_the_admin_is_recorded_as_the_admins(admin_client):
    team = TeamFactory(slug="dast")
    anna = UserFactory(username="anna")
    admin_client.post(
        reverse("admin:people_membership_add"),
        {"team": team.pk, "user": anna.pk, "role": Role.COORDINATOR},
    )
    membership = Membership.objects.get(user=anna)
    admin_client.post(
        reverse("admin:people_membership_delete", args=[membership.pk]), {"post": "yes"}
    )
    granted, revoked = entries(AuditKind.ROLE_GRANTED)[0], entries(AuditKind.ROLE_REVOKED)[0]
    assert (granted.via, granted.actor_name) == (AuditVia.ADMIN, "root")
    assert granted.data == {"user": "anna", "team": "dast", "role": "coordinator"}
    assert (revoked.via, revoked.data["role"]) == (AuditVia.ADMIN, "coordinator")


def test_a_role_given_in_a_shell_is_recorded_as_the_systems():
    MembershipFactory(role=Role.SHIFTER)
    [granted] = entries(AuditKind.ROLE_GRANTED)
    assert (granted.via, granted.actor_name, granted.address) == (AuditVia.SYSTEM, "", "")


def test_making_someone_a_superuser_in_the_admin_is_recorded(admin_client):
    anna = UserFactory(username="anna")
    anna.is_superuser = True
    request = admin_client.get(reverse("admin:index")).wsgi_request
    with serving(request):
        anna.save()
    [changed] = entries(AuditKind.USER_CHANGED)
    assert (changed.subject, changed.data) == ("anna", {"changed": {"is_superuser": True}})
    assert (changed.via, changed.actor_name) == (AuditVia.ADMIN, "root")


@pytest.mark.parametrize("what", ["mailbox", "expert group", "zone"])
def test_deleting_a_mailbox_group_or_zone_in_the_admin_is_recorded(admin_client, what):
    team = shift_team({})
    thing, url = {
        "mailbox": lambda: (MailboxFactory(team=team), "admin:tickets_mailbox_delete"),
        "expert group": lambda: (
            ExpertGroup.objects.create(team=team, name="Rucio", email="rucio@cern.ch"),
            "admin:escalation_expertgroup_delete",
        ),
        "zone": lambda: (team.na, "admin:shifts_zone_delete"),
    }[what]()
    response = admin_client.post(reverse(url, args=[thing.pk]), {"post": "yes"})
    assert response.status_code == 302
    [changed] = entries(AuditKind.CONFIG_CHANGED)
    assert changed.data["action"] == "deleted"
    assert (changed.via, changed.actor_name) == (AuditVia.ADMIN, "root")


def test_the_desk_saving_its_own_mailbox_state_is_not_a_policy_change():
    mailbox = MailboxFactory()
    mailbox.save()
    assert entries(AuditKind.CONFIG_CHANGED) == []


def test_a_mapping_rule_added_in_the_admin_is_recorded(admin_client):
    team = TeamFactory(slug="dast")
    admin_client.post(
        reverse("admin:accounts_mappingrule_add"),
        {
            "provider": "cern",
            "claim": "cern_roles",
            "value": "x",
            "team": team.pk,
            "role": Role.SHIFTER,
        },
    )
    [changed] = entries(AuditKind.CONFIG_CHANGED)
    assert (changed.data["model"], changed.data["action"]) == ("accounts.MappingRule", "created")


def test_a_csv_export_is_recorded_whichever_app_serves_it(client):
    team = shift_team({"elena": Role.COORDINATOR})
    coordinator = team.people["elena"]
    client.force_login(coordinator)
    response = client.get(
        reverse("shift-credits"), {"from": "2025-05-01", "to": "2025-05-31", "format": "csv"}
    )
    assert response["Content-Type"].startswith("text/csv")
    [export] = entries(AuditKind.EXPORT)
    assert export.actor_name == "elena"
    assert export.subject.startswith("/shifts/credits/?")
    assert export.data["file"] == "dast-credits-20250501-20250531.csv"
    client.get(reverse("shift-credits"))  # the page itself is no export
    assert len(entries(AuditKind.EXPORT)) == 1


def test_the_audit_trail_is_append_only():
    entry = audit_record(kind=AuditKind.EXPORT, subject="/x")
    entry.subject = "/y"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
    # Below the ORM too: the database refuses.
    with pytest.raises(Exception, match="append-only"), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_auditentry SET subject = 'forged'")


def test_admins_see_the_trail_read_only_and_others_not_at_all(client, admin_client):
    audit_record(kind=AuditKind.EXPORT, subject="/reports/?format=csv")
    page = admin_client.get(reverse("admin:accounts_auditentry_changelist"))
    assert page.status_code == 200
    assert "/reports/?format=csv" in page.content.decode()
    assert "Export CSV" in page.content.decode()
    assert admin_client.get(reverse("admin:accounts_auditentry_add")).status_code == 403
    staff = UserFactory(username="staff", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("admin:accounts_auditentry_changelist")).status_code == 403
    assert client.get(reverse("audit-csv")).status_code == 404


def test_the_trail_exports_as_csv_with_the_admins_filters(admin_client):
    audit_record(kind=AuditKind.SIGN_IN, subject="anna")
    audit_record(kind=AuditKind.EXPORT, subject="/reports/")
    response = admin_client.get(reverse("audit-csv"), {"kind__exact": "sign_in", "q": "anna"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["kind"], r["subject"]) for r in rows] == [("sign_in", "anna")]
    # The download is itself an export on the trail.
    assert entries(AuditKind.EXPORT)[-1].subject.startswith("/admin/audit.csv")
