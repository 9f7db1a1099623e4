"""The one place where ``accounts`` names the teams-and-roles models. They are moving to their
own app; when they do, only these imports change."""

from people.models import Membership, Role, Team

__all__ = ["Membership", "Role", "Team"]
