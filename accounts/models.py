"""Single sign-on mapping rules, the memberships they made, and the audit trail."""

from __future__ import annotations

from django.db import models

from accounts.people import Membership, Role, Team


class MappingRule(models.Model):
    """At every single sign-on through ``provider``, a person whose ``claim`` holds ``value``
    (the claim's string, or one item of its list) gets ``role`` in ``team``; one whose claim
    no longer holds it loses the membership this rule made."""

    provider = models.CharField(
        max_length=32, help_text="The provider's name in SSO_PROVIDERS, e.g. cern or egi."
    )
    claim = models.CharField(max_length=100, help_text="e.g. cern_roles, eduperson_entitlement")
    value = models.CharField(max_length=500, help_text="Matched exactly.")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "claim", "value", "team", "role"], name="mapping_rule_unique"
            )
        ]
        ordering = ["provider", "claim", "value"]

    def __str__(self) -> str:
        return f"{self.provider}: {self.claim} = {self.value} → {self.role} in {self.team}"


class RuleGrant(models.Model):
    """Marks a membership that single sign-on rules made (and so may take away again).
    Memberships without one were added by hand and are left alone."""

    membership = models.OneToOneField(
        Membership, on_delete=models.CASCADE, related_name="rule_grant"
    )
    provider = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.membership} (by {self.provider} rules)"


class AuditKind(models.TextChoices):
    SIGN_IN = "sign_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
    LOCKOUT = "lockout", "Locked out"
    SIGN_OUT = "sign_out", "Signed out"
    ROLE_GRANTED = "role_granted", "Role granted"
    ROLE_REVOKED = "role_revoked", "Role revoked"
    USER_CHANGED = "user_changed", "Account changed"
    CONFIG_CHANGED = "config_changed", "Configuration changed"
    EXPORT = "export", "Export"
    RETENTION = "retention", "Retention run"


class AuditVia(models.TextChoices):
    PAGE = "page", "Desk page"
    ADMIN = "admin", "Admin"
    SSO_RULE = "sso_rule", "Single sign-on rule"
    SYSTEM = "system", "System (task, command, shell)"


class AuditEntry(models.Model):
    """One thing that happened to who gets in and what they may do, or data leaving the
    desk. Append-only: rows are never changed or deleted (on PostgreSQL a trigger refuses
    it). The actor is kept by id and name, not as a foreign key, so that removing an account
    changes no row here."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=20, choices=AuditKind.choices)
    via = models.CharField(max_length=10, choices=AuditVia.choices, default=AuditVia.SYSTEM)
    actor_id = models.IntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150, blank=True, help_text="Who did it.")
    address = models.CharField(max_length=64, blank=True, help_text="The client's address.")
    subject = models.CharField(max_length=300, blank=True, help_text="What it was done to.")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["kind", "at"], name="audit_kind_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}: {self.subject}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise ValueError("Audit entries are append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit entries are append-only.")
