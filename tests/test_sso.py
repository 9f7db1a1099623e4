"""Single sign-on end to end against the OIDC provider the tests start on 127.0.0.1: the
desk's login page, the provider's redirect, the code exchange and the ID token's checks
(signature, expiry, audience), and the mapping rules applied at every sign-in."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest
from django.contrib.auth import get_user_model

from accounts.models import AuditEntry, AuditKind, AuditVia, MappingRule, RuleGrant
from people.models import Membership, Role
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.oidc_provider import new_key, running

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_at(datetime(2025, 3, 4, 9, 0, tzinfo=UTC))]


@pytest.fixture
def cern(settings):
    with running() as provider:
        settings.SSO_PROVIDERS = ["cern"]
        settings.SOCIAL_AUTH_CERN_OIDC_ENDPOINT = provider.url
        settings.SOCIAL_AUTH_CERN_KEY = provider.client_id
        settings.SOCIAL_AUTH_CERN_SECRET = provider.client_secret
        provider.user = {
            "sub": "cern-0001",
            "preferred_username": "akeller",
            "email": "anna.keller@cern.ch",
            "given_name": "Anna",
            "family_name": "Keller",
            "cern_roles": ["dast-shifter"],
        }
        yield provider


@pytest.fixture
def egi(settings):
    with running() as provider:
        settings.SSO_PROVIDERS = ["egi"]
        settings.SOCIAL_AUTH_EGI_OIDC_ENDPOINT = provider.url
        settings.SOCIAL_AUTH_EGI_KEY = provider.client_id
        settings.SOCIAL_AUTH_EGI_SECRET = provider.client_secret
        provider.user = {"sub": "egi-42", "email": "b@example.org"}
        yield provider


@pytest.fixture
def dast():
    return TeamFactory(slug="dast", ticket_prefix="DAST")


def sso_sign_in(client, name="cern"):
    """Press "Sign in with …", let the provider answer, come back: the desk's answer."""
    begin = client.post(f"/sso/login/{name}/")
    assert begin.status_code == 302, begin
    answer = httpx.get(begin["Location"], follow_redirects=False)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["location"])
    assert back.path == f"/sso/complete/{name}/"
    return client.get(f"{back.path}?{back.query}")


def signed_in_user(client):
    response = client.get("/tickets/")
    return response.wsgi_request.user


def test_the_login_page_offers_each_provider_and_the_password(client, cern, settings):
    settings.SSO_PROVIDERS = ["cern", "egi"]
    page = client.get("/login/").content.decode()
    assert "Sign in with CERN" in page
    assert "Sign in with EGI Check-in" in page
    assert 'id="id_password"' in page


def test_signing_in_with_cern_makes_the_account_and_grants_the_mapped_role(client, cern, dast):
    MappingRule.objects.create(
        provider="cern", claim="cern_roles", value="dast-shifter", team=dast, role=Role.SHIFTER
    )
    response = sso_sign_in(client)
    assert response.status_code == 302
    assert response["Location"] == "/tickets/"
    user = signed_in_user(client)
    assert user.is_authenticated
    assert (user.email, user.first_name) == ("anna.keller@cern.ch", "Anna")
    membership = Membership.objects.get(user=user)
    assert (membership.team, membership.role) == (dast, Role.SHIFTER)
    assert RuleGrant.objects.get(membership=membership).provider == "cern"
    granted = AuditEntry.objects.get(kind=AuditKind.ROLE_GRANTED)
    assert granted.via == AuditVia.SSO_RULE
    assert granted.data["role"] == "shifter"
    sign_in = AuditEntry.objects.get(kind=AuditKind.SIGN_IN)
    assert sign_in.data == {"method": "sso:cern"}
    assert sign_in.address == "127.0.0.1"
    # The provider was really asked: discovery, the code exchange, keys and user info.
    assert {"/token", "/jwks", "/userinfo"} <= set(cern.requests)


def test_signing_in_again_finds_the_same_account(client, cern, dast):
    sso_sign_in(client)
    first = signed_in_user(client)
    client.logout()
    sso_sign_in(client)
    assert signed_in_user(client).pk == first.pk
    assert get_user_model().objects.count() == 1


@pytest.mark.parametrize(
    ("breakage", "why"),
    [
        ({"sign_with": "other key"}, "bad signature"),
        ({"lifetime_s": -120}, "expired"),
        ({"audience": "another-client"}, "wrong audience"),
    ],
)
def test_an_id_token_that_does_not_hold_signs_nobody_in(client, cern, dast, breakage, why):
    MappingRule.objects.create(
        provider="cern", claim="cern_roles", value="dast-shifter", team=dast, role=Role.SHIFTER
    )
    for knob, value in breakage.items():
        setattr(cern, knob, new_key() if value == "other key" else value)
    response = sso_sign_in(client)
    assert response.status_code == 403, why
    assert "Sign-in with CERN failed" in response.content.decode()
    assert not signed_in_user(client).is_authenticated
    assert not get_user_model().objects.exists()
    assert not Membership.objects.exists()
    failed = AuditEntry.objects.get(kind=AuditKind.SIGN_IN_FAILED)
    assert failed.data["method"] == "sso:cern"


def test_a_claim_that_no_longer_holds_revokes_the_rule_made_role_only(client, cern, dast):
    MappingRule.objects.create(
        provider="cern", claim="cern_roles", value="dast-shifter", team=dast, role=Role.SHIFTER
    )
    MappingRule.objects.create(
        provider="cern", claim="cern_roles", value="dast-coord", team=dast, role=Role.COORDINATOR
    )
    cern.user["cern_roles"] = ["dast-shifter", "dast-coord"]
    sso_sign_in(client)
    user = signed_in_user(client)
    assert set(Membership.objects.filter(user=user).values_list("role", flat=True)) == {
        Role.SHIFTER,
        Role.COORDINATOR,
    }
    # An admin adds the expert role by hand; CERN drops the coordinator role.
    MembershipFactory(team=dast, user=user, role=Role.EXPERT)
    client.logout()
    cern.user["cern_roles"] = ["dast-shifter"]
    sso_sign_in(client)
    assert set(Membership.objects.filter(user=user).values_list("role", flat=True)) == {
        Role.SHIFTER,
        Role.EXPERT,
    }
    revoked = AuditEntry.objects.get(kind=AuditKind.ROLE_REVOKED)
    assert (revoked.via, revoked.data["role"]) == (AuditVia.SSO_RULE, "coordinator")


def test_a_membership_added_by_hand_survives_the_claim_going_away(client, cern, dast):
    MappingRule.objects.create(
        provider="cern", claim="cern_roles", value="dast-shifter", team=dast, role=Role.SHIFTER
    )
    sso_sign_in(client)
    user = signed_in_user(client)
    client.logout()
    # Made by the rule, then the rule is deleted: the next sign-in takes the role away ...
    MappingRule.objects.all().delete()
    sso_sign_in(client)
    assert not Membership.objects.filter(user=user).exists()
    client.logout()
    # ... but a shifter role given by hand stays whatever the claims say.
    MembershipFactory(team=dast, user=user, role=Role.SHIFTER)
    cern.user["cern_roles"] = []
    sso_sign_in(client)
    assert Membership.objects.filter(user=user, role=Role.SHIFTER).exists()


def test_egi_check_in_entitlements_in_the_user_info_map_to_a_role(client, egi, dast):
    entitlement = "urn:mace:egi.eu:group:atlas:role=member#aai.egi.eu"
    egi.userinfo_extra = {
        "voperson_id": "42@egi.eu",
        "eduperson_entitlement": [entitlement, "urn:other"],
    }
    MappingRule.objects.create(
        provider="egi",
        claim="eduperson_entitlement",
        value=entitlement,
        team=dast,
        role=Role.EXPERT,
    )
    MappingRule.objects.create(
        provider="cern",
        claim="eduperson_entitlement",
        value=entitlement,
        team=dast,
        role=Role.ADMIN,
    )
    response = sso_sign_in(client, "egi")
    assert response.status_code == 302
    user = signed_in_user(client)
    assert user.username == "42@egi.eu"
    # Only the rules of the provider the person came through count.
    assert list(Membership.objects.filter(user=user).values_list("role", flat=True)) == [
        Role.EXPERT
    ]


def test_a_provider_that_is_not_configured_is_not_there(client, cern):
    assert client.post("/sso/login/egi/").status_code == 404
    assert client.get("/sso/complete/egi/?code=x&state=y").status_code == 404


def test_a_password_sign_in_still_works_for_an_admin(client, cern):
    admin = UserFactory(username="root-admin", is_superuser=True, is_staff=True)
    response = client.post("/login/", {"username": admin.username, "password": "pw"})
    assert response.status_code == 302
    assert AuditEntry.objects.get(kind=AuditKind.SIGN_IN).data == {"method": "password"}


def test_the_login_page_lets_its_forms_lead_to_the_providers_only(client, cern):
    policy = client.get("/login/")["Content-Security-Policy"]
    origin = cern.url.rsplit("/realms", 1)[0]
    assert f"form-action 'self' {origin};" in policy
    assert "form-action 'self';" in client.get("/support/new/")["Content-Security-Policy"]
