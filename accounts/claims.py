"""Pure: which (team, role) pairs a person's claims earn under the mapping rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Keys of the token endpoint's answer that python-social-auth merges into the user info
# it hands on; they are not claims about the person and match no rule.
TOKEN_RESPONSE_KEYS = frozenset(
    {
        "access_token",
        "id_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "scope",
        "refresh_expires_in",
        "not-before-policy",
        "session_state",
    }
)


@dataclass(frozen=True)
class Rule:
    claim: str
    value: str
    team_id: int
    role: str


def claim_values(claims: Mapping[str, Any], name: str) -> set[str]:
    """A claim's values as strings: a string is one value, a list is its string items."""
    value = claims.get(name)
    if isinstance(value, str):
        return {value}
    if isinstance(value, list | tuple):
        return {item for item in value if isinstance(item, str)}
    return set()


def merge_claims(id_token: Mapping[str, Any] | None, userinfo: Mapping[str, Any]) -> dict:
    """The ID token's claims and the user info's (CERN puts roles in the first, EGI
    Check-in entitlements in the second), list values joined."""
    merged: dict[str, Any] = dict(id_token or {})
    for key, value in userinfo.items():
        if key in TOKEN_RESPONSE_KEYS:
            continue
        if key in merged and isinstance(value, list) and isinstance(merged[key], list):
            merged[key] = list(dict.fromkeys([*merged[key], *value]))
        else:
            merged.setdefault(key, value)
    return merged


def earned(rules: Iterable[Rule], claims: Mapping[str, Any]) -> set[tuple[int, str]]:
    return {
        (rule.team_id, rule.role)
        for rule in rules
        if rule.value in claim_values(claims, rule.claim)
    }
