"""How the desk names a person on pages, in mail and in the API."""

from __future__ import annotations

from django.contrib.auth.models import User


def display_name(user: User) -> str:
    """The person's full name, or their login when they gave none."""
    return user.get_full_name() or user.username
