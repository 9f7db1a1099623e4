"""How the desk names a person on pages, in mail and in the API: one helper, for the desk's
people (``User``) and for those known by a mail address only (a ticket's requester)."""

from __future__ import annotations

from typing import Protocol

from django.contrib.auth.models import User

# Who is on shift is public: a shifter who gave no name is not shown by their login there.
UNNAMED = "Unnamed shifter"


class Addressed(Protocol):
    """Someone known by a name they may have given and a mail address (a requester)."""

    name: str
    email: str


def display_name(person: User | Addressed, *, public: bool = False) -> str:
    """The person's full name, else their login (a ``User``; on a ``public`` page, where
    logins are not shown, "Unnamed shifter"), else their mail address."""
    if isinstance(person, User):
        login = UNNAMED if public else person.username
        return person.get_full_name() or login or person.email
    return person.name or person.email
