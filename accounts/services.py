"""Writes of the accounts app."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from accounts import claims as claims_mod
from accounts.audit import acting_as
from accounts.models import AuditVia, MappingRule, RuleGrant
from accounts.people import Membership


@dataclass
class RuleOutcome:
    granted: list[tuple[int, str]] = field(default_factory=list)
    revoked: list[tuple[int, str]] = field(default_factory=list)


def memberships_apply_rules(*, user: User, provider: str, claims: dict[str, Any]) -> RuleOutcome:
    """Make ``user``'s rule-made memberships from ``provider`` what its mapping rules say
    for ``claims``: grant the missing ones (marked as rule-made), take away the ones a rule
    made that no rule earns any more. Memberships added by hand are never touched, and one
    that exists by hand is not marked when a rule earns it too. Each change is audited (via
    the Membership receivers) as made by an SSO rule."""
    rules = [
        claims_mod.Rule(r.claim, r.value, r.team_id, r.role)
        for r in MappingRule.objects.filter(provider=provider)
    ]
    wanted = claims_mod.earned(rules, claims)
    outcome = RuleOutcome()
    with transaction.atomic(), acting_as(AuditVia.SSO_RULE):
        held = {
            (m.team_id, m.role): m
            for m in Membership.objects.select_for_update(of=("self",))
            .filter(user=user)
            .select_related("rule_grant", "team", "user")
        }
        for key, membership in held.items():
            grant = getattr(membership, "rule_grant", None)
            if grant is not None and grant.provider == provider and key not in wanted:
                membership.delete()
                outcome.revoked.append(key)
        for team_id, role in sorted(wanted - held.keys()):
            membership = Membership.objects.create(user=user, team_id=team_id, role=role)
            RuleGrant.objects.create(membership=membership, provider=provider)
            outcome.granted.append((team_id, role))
    return outcome
