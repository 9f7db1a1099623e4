"""The whole single sign-on in Chromium: the login page's "Sign in with CERN", the provider
the test starts on 127.0.0.1, and back on the desk's queue with the role a rule maps."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import MappingRule
from people.models import Membership, Role
from tests.factories import TeamFactory
from tests.oidc_provider import running

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_shifter_signs_in_with_cern_and_lands_on_the_queue(
    live_server, browser_context, settings
):
    team = TeamFactory(slug="dast", name="ATLAS DAST", ticket_prefix="DAST")
    MappingRule.objects.create(
        provider="cern", claim="cern_roles", value="dast-shifter", team=team, role=Role.SHIFTER
    )
    with running() as provider:
        settings.SSO_PROVIDERS = ["cern"]
        settings.SOCIAL_AUTH_CERN_OIDC_ENDPOINT = provider.url
        settings.SOCIAL_AUTH_CERN_KEY = provider.client_id
        settings.SOCIAL_AUTH_CERN_SECRET = provider.client_secret
        provider.user = {
            "sub": "cern-0002",
            "preferred_username": "bsmith",
            "email": "bob.smith@cern.ch",
            "given_name": "Bob",
            "family_name": "Smith",
            "cern_roles": ["dast-shifter"],
        }
        page = browser_context.new_page()
        page.goto(f"{live_server.url}/tickets/")
        expect(page).to_have_url(f"{live_server.url}/login/?next=/tickets/")
        with page.expect_navigation(url=f"{live_server.url}/tickets/"):
            page.click("text=Sign in with CERN")
        expect(page.locator("body")).to_contain_text("Bob")
        assert "/token" in provider.requests
    membership = Membership.objects.get(user__email="bob.smith@cern.ch")
    assert (membership.team_id, membership.role) == (team.pk, Role.SHIFTER)
