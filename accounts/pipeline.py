"""The step added to python-social-auth's pipeline: the mapping rules, at every sign-in."""

from __future__ import annotations

from typing import Any

from accounts.claims import merge_claims
from accounts.services import memberships_apply_rules


def apply_mapping_rules(
    backend: Any, user: Any = None, response: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    if user is None:
        return
    claims = merge_claims(getattr(backend, "id_token", None), response or {})
    memberships_apply_rules(user=user, provider=backend.name, claims=claims)
