"""How shifts tells a person something by mail (a swap request, its answer, a coverage gap)
without knowing the outbox: the outbox belongs to the mail side of ``tickets``, a layer
above shifts. The app above both (``dispatch``) plugs the outbox in at start-up with
``mailer_set``; the mail is then written in the caller's transaction and sent after commit,
like every other mail of the desk."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured

from people.models import Team


class Mailer(Protocol):
    def __call__(
        self, *, team: Team, to: Sequence[str], template: str, context: Mapping[str, object]
    ) -> object: ...


_mailer: Mailer | None = None


def mailer_set(mailer: Mailer) -> None:
    global _mailer
    _mailer = mailer


def mail_person(
    *, team: Team, to: Sequence[str], template: str, context: Mapping[str, object]
) -> None:
    """Queue an automatic notification mail from the team's desk, worded by the mail
    template ``template`` (``templates/mail/``) rendered with ``context``."""
    if _mailer is None:
        raise ImproperlyConfigured("No mailer for shift notices: is dispatch installed?")
    _mailer(team=team, to=to, template=template, context=context)
