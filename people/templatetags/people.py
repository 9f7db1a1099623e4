"""``{{ person|display_name }}`` (and ``|display_name:"public"`` on public pages):
people.names.display_name for templates."""

from __future__ import annotations

from django import template
from django.contrib.auth.models import AnonymousUser, User

from people.names import Addressed
from people.names import display_name as _display_name

register = template.Library()


@register.filter
def display_name(person: User | Addressed | AnonymousUser | None, where: str = "") -> str:
    """Nobody (no author, the anonymous visitor) is named "", as the template's own
    ``get_full_name|default:username`` used to name them."""
    if person is None or isinstance(person, AnonymousUser):
        return ""
    return _display_name(person, public=where == "public")
