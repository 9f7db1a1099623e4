"""The wording of the desk's mails, as Django templates under ``templates/mail/``.

A mail template is a text file with two blocks: ``{% block subject %}`` (one line; any line
break in it, from the template or from a value, is flattened to a space, so a value can
never add a header) and ``{% block text %}`` (the body, one leading line break dropped so
the tag may sit on its own line). Anything outside the blocks is ignored. Text mails are
rendered with autoescaping off: they are not HTML. Wording is marked with ``{% translate %}``
and ``{% blocktranslate %}`` (``{% load i18n %}``) and follows the active language.

A team's own template wins: ``mail/teams/<team slug>/<name>.txt`` is looked for before
``mail/<name>.txt``. An override is a whole template (copy the default, then edit it):
``{% extends %}`` is not supported. Templates are files only, never rows in the database,
so nobody can inject template code through the admin.

Rendering only: the outbox (``tickets.mail.outbox.mail_send``) turns the result into a
mail. This module sits in ``common`` so that any app may render without the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from django.template import Context, Engine
from django.template.base import Template
from django.template.loader_tags import BlockNode

PARTS = ("subject", "text")


class MailTemplateError(Exception):
    """A mail template that cannot be used (a block missing)."""


class HasSlug(Protocol):
    slug: str


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str


def flatten(subject: str) -> str:
    """One header line: line breaks (CR, LF and the other Unicode ones) become one space."""
    return " ".join(part.strip() for part in subject.splitlines() if part.strip())


class MailTemplate:
    """A loaded mail template: load it once, render it for each mail of a batch."""

    def __init__(self, template: Template) -> None:
        self.template = template
        blocks = {
            node.name: node
            for node in template.nodelist.get_nodes_by_type(BlockNode)
            if isinstance(node, BlockNode)
        }
        missing = [part for part in PARTS if part not in blocks]
        if missing:
            raise MailTemplateError(
                f"{template.origin.name}: no {{% block {missing[0]} %}} (a mail template has "
                f"a subject block and a text block)"
            )
        self.blocks = {part: blocks[part] for part in PARTS}

    @property
    def name(self) -> str:
        return str(self.template.origin.template_name)

    def render(self, context: Mapping[str, object]) -> RenderedMail:
        ctx = Context(dict(context), autoescape=False)
        with ctx.render_context.push_state(self.template), ctx.bind_template(self.template):
            subject = self.blocks["subject"].render(ctx)
            text = self.blocks["text"].render(ctx)
        return RenderedMail(subject=flatten(subject), text=text.removeprefix("\n"))


def template_names(name: str, team: HasSlug | None) -> list[str]:
    """Where ``name`` is looked for, first match wins."""
    names = [f"mail/{name}.txt"]
    if team is not None and team.slug:
        names.insert(0, f"mail/teams/{team.slug}/{name}.txt")
    return names


def mail_template(name: str, *, team: HasSlug | None) -> MailTemplate:
    """The template ``name`` as ``team`` words it (its own, else the desk's).
    Raises ``TemplateDoesNotExist`` for an unknown name."""
    return MailTemplate(Engine.get_default().select_template(template_names(name, team)))


def mail_render(name: str, context: Mapping[str, object], *, team: HasSlug | None) -> RenderedMail:
    """Subject and text of mail ``name`` for ``team`` (see the module's docstring)."""
    return mail_template(name, team=team).render(context)
