"""The single sign-on providers the desk knows, as python-social-auth backends. Which are
on, and their endpoints and client credentials, come from SSO_PROVIDERS and SSO_<NAME>_*
(dast/settings.py); the backend's ``name`` is the provider's name there and in the mapping
rules."""

from __future__ import annotations

from typing import Any

from social_core.backends.egi_checkin import EGICheckinOpenIdConnect
from social_core.backends.open_id_connect import OpenIdConnectAuth


class CernOpenIdConnect(OpenIdConnectAuth[Any]):
    """CERN SSO: Keycloak's OpenID Connect; the person's roles are in ``cern_roles``."""

    name = "cern"
    title = "CERN"
    OIDC_ENDPOINT = "https://auth.cern.ch/auth/realms/cern"
    DEFAULT_USE_PKCE = True


class EgiCheckinBackend(EGICheckinOpenIdConnect[Any]):
    """EGI Check-in: VO membership in ``eduperson_entitlement``. Its username is the
    opaque ``voperson_id``."""

    name = "egi"
    title = "EGI Check-in"
    DEFAULT_USE_PKCE = True
    # The standing "offline_access" scope asks for a refresh token the desk never uses.
    DEFAULT_SCOPE = ["openid", "profile", "email", "voperson_id", "eduperson_entitlement"]


BACKENDS = {backend.name: backend for backend in (CernOpenIdConnect, EgiCheckinBackend)}
