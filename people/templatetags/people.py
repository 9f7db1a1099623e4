"""``{{ person|display_name }}``: people.names.display_name for templates."""

from __future__ import annotations

from django import template
from django.contrib.auth.models import AnonymousUser, User

from people.names import display_name as _display_name

register = template.Library()


@register.filter
def display_name(user: User | AnonymousUser | None) -> str:
    """Nobody (no author, the anonymous visitor) is named "", as the template's own
    ``get_full_name|default:username`` used to name them."""
    if user is None or not user.is_authenticated:
        return ""
    assert isinstance(user, User)
    return _display_name(user)
