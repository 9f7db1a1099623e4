from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from people.models import Membership, Role, Team
from tickets.models import Mailbox, Message, MessageKind, Requester, Ticket


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"team{n}")
    name = factory.LazyAttribute(lambda o: o.slug.upper())
    ticket_prefix = factory.Sequence(lambda n: f"T{n:02d}")
    support_address = factory.LazyAttribute(lambda o: f"{o.slug}-help@example.org")


class MailboxFactory(factory.django.DjangoModelFactory):
    """The desk's IMAP mailbox; its address is what intake recognises as the desk's own."""

    class Meta:
        model = Mailbox

    team = factory.SubFactory(TeamFactory)
    name = "desk"
    host = "127.0.0.1"
    port = 143
    security = "none"
    username = "support"
    password_env = "DAST_TEST_PW"
    addresses = "dast-desk@cern.ch"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    first_name = factory.Sequence(lambda n: f"First{n}")
    password = factory.django.Password("pw")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.SHIFTER


class RequesterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Requester

    email = factory.Sequence(lambda n: f"physicist{n}@cern.ch")
    name = factory.Sequence(lambda n: f"Physicist {n}")


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    team = factory.SubFactory(TeamFactory)
    number = factory.Sequence(lambda n: n + 1)
    subject = factory.Sequence(lambda n: f"Task {15934870 + n} exhausted")
    requester = factory.SubFactory(RequesterFactory)
    created_at = factory.LazyFunction(timezone.now)
    last_message_at = factory.LazyAttribute(lambda o: o.created_at)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    ticket = factory.SubFactory(TicketFactory)
    team = factory.LazyAttribute(lambda o: o.ticket.team)
    kind = MessageKind.EMAIL_IN
    sender_email = factory.LazyAttribute(lambda o: o.ticket.requester.email)
    body_text = "My jobs fail with lost heartbeat."
    message_id = factory.Sequence(lambda n: f"<m{n}@example.org>")
    created_at = factory.LazyFunction(timezone.now)


def shift_team(people: dict[str, Role], *, last_name: str = "Doe") -> Team:
    """A DAST-like team with EU 08:00 and NA 16:00 zones (EU coordinated by the first
    coordinator in ``people``). The users are ``team.people[name]``; the zones ``team.eu``
    and ``team.na``. Names are first names; the full name is "<Name> <last_name>"."""
    from datetime import time

    from shifts.models import Zone

    team = TeamFactory(slug="dast", ticket_prefix="DAST", name="ATLAS DAST")
    users = {}
    for name, role in people.items():
        user = UserFactory(username=name, first_name=name.title(), last_name=last_name)
        users[name] = MembershipFactory(team=team, user=user, role=role).user
    coordinator = next((users[n] for n, r in people.items() if r == Role.COORDINATOR), None)
    team.people = users  # type: ignore[attr-defined]
    team.eu = Zone.objects.create(  # type: ignore[attr-defined]
        team=team, code="EU", name="Europe", starts_at=time(8), coordinator=coordinator
    )
    team.na = Zone.objects.create(  # type: ignore[attr-defined]
        team=team, code="NA", name="North America", starts_at=time(16)
    )
    return team
