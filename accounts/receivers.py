"""What the audit trail hears without being called: sign-ins and sign-outs (Django's auth
signals), memberships and account flags changing by any path (admin, pages, shell, SSO
rules), and people's saves of the configuration models named in AUDIT_CONFIG_MODELS. Saves
the desk makes itself (a fetcher renewing its mailbox lease) are not policy changes and
are left out: configuration is audited only while a request is being served."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model, user_logged_in, user_logged_out
from django.contrib.auth.signals import user_login_failed
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.http import HttpRequest

from accounts.audit import audit_record, current_request
from accounts.models import AuditKind
from accounts.people import Membership

_USER_FLAGS = ("is_active", "is_staff", "is_superuser")


def _method(user: Any) -> str:
    social = getattr(user, "social_user", None)
    if social is not None:
        return f"sso:{social.provider}"
    return "password" if "ModelBackend" in str(getattr(user, "backend", "")) else "other"


def _signed_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    audit_record(
        kind=AuditKind.SIGN_IN,
        subject=user.get_username(),
        actor=user,
        request=request,
        data={"method": _method(user)},
    )


def _signed_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(
            kind=AuditKind.SIGN_OUT, subject=user.get_username(), actor=user, request=request
        )


def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    audit_record(
        kind=AuditKind.SIGN_IN_FAILED,
        subject=str(credentials.get("username", ""))[:150],
        request=request,
        data={"method": "password"},
    )


def _membership_facts(membership: Any) -> dict[str, Any]:
    return {
        "user": membership.user.get_username(),
        "team": membership.team.slug,
        "role": membership.role,
    }


def _membership_before(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.pk:
        instance._audit_before = (
            Membership.objects.filter(pk=instance.pk).values("team_id", "user_id", "role").first()
        )


def _membership_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    before = getattr(instance, "_audit_before", None)
    facts = _membership_facts(instance)
    if not created and before == {
        "team_id": instance.team_id,
        "user_id": instance.user_id,
        "role": instance.role,
    }:
        return
    if before:
        facts["was"] = before["role"]
    audit_record(kind=AuditKind.ROLE_GRANTED, subject=str(instance)[:300], data=facts)


def _membership_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    audit_record(
        kind=AuditKind.ROLE_REVOKED, subject=str(instance)[:300], data=_membership_facts(instance)
    )


def _user_before(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.pk:
        instance._audit_flags = (
            sender.objects.filter(pk=instance.pk).values(*_USER_FLAGS).first() or {}
        )


def _user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    before = getattr(instance, "_audit_flags", None) or {}
    changed = {
        flag: getattr(instance, flag)
        for flag in _USER_FLAGS
        if before.get(flag, False) != getattr(instance, flag)
    }
    if created and current_request() is None:
        return  # accounts made by commands, fixtures and single sign-on: their sign-in says it
    if changed or created:
        data: dict[str, Any] = {"changed": changed}
        if created:
            data["created"] = True
        audit_record(kind=AuditKind.USER_CHANGED, subject=instance.get_username(), data=data)


def _user_m2m(sender: Any, instance: Any, action: str, pk_set: Any, **kwargs: Any) -> None:
    if action not in ("post_add", "post_remove", "post_clear") or not isinstance(
        instance, get_user_model()
    ):
        return
    audit_record(
        kind=AuditKind.USER_CHANGED,
        subject=instance.get_username(),
        data={
            "field": kwargs["model"]._meta.model_name,
            "action": action[5:],
            "ids": sorted(pk_set or []),
        },
    )


def _config_saved(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    if current_request() is None:
        return
    action = "deleted" if "created" not in kwargs else "created" if kwargs["created"] else "changed"
    audit_record(
        kind=AuditKind.CONFIG_CHANGED,
        subject=f"{sender._meta.verbose_name}: {instance}"[:300],
        data={"model": sender._meta.label, "id": instance.pk, "action": action},
    )


def connect() -> None:
    user_logged_in.connect(_signed_in, dispatch_uid="audit-sign-in")
    user_logged_out.connect(_signed_out, dispatch_uid="audit-sign-out")
    user_login_failed.connect(_sign_in_failed, dispatch_uid="audit-sign-in-failed")
    pre_save.connect(_membership_before, sender=Membership, dispatch_uid="audit-m-before")
    post_save.connect(_membership_saved, sender=Membership, dispatch_uid="audit-m-saved")
    post_delete.connect(_membership_deleted, sender=Membership, dispatch_uid="audit-m-deleted")
    user_model = get_user_model()
    pre_save.connect(_user_before, sender=user_model, dispatch_uid="audit-user-before")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="audit-user-saved")
    for through in (user_model.groups.through, user_model.user_permissions.through):
        m2m_changed.connect(_user_m2m, sender=through, dispatch_uid=f"audit-{through.__name__}")
    for label in settings.AUDIT_CONFIG_MODELS:
        model = apps.get_model(label)
        post_save.connect(_config_saved, sender=model, dispatch_uid=f"audit-save-{label}")
        post_delete.connect(_config_saved, sender=model, dispatch_uid=f"audit-del-{label}")
