"""Reads on tickets, with the joins each page needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce, Lower

from people.access import desk_answer_known
from people.models import DESK_ROLES, Membership, Team
from people.selectors import teams_for_desk_user
from people.teamcache import team_cached
from tickets.access import may_see, visible_tickets_q
from tickets.models import (
    OPEN_STATUSES,
    Attachment,
    CannedAnswer,
    DraftState,
    Message,
    ReplyDraft,
    Requester,
    Ticket,
    TicketEvent,
    TicketLink,
    parse_reference,
)
from tickets.panels import page_annotations

AnyUser = User | AnonymousUser
# Names of the team lists the ticket page takes from people.teamcache.
PEOPLE_CACHED, CANNED_CACHED = "people", "canned"


def ticket_list_for_user(user: AnyUser) -> QuerySet[Ticket]:
    """Tickets this person may see (tickets/access.py), newest activity first, ready for a
    list page (message counts: ``with_message_counts`` on the page)."""
    return _listed(Ticket.objects.filter(visible_tickets_q(user)))


def ticket_list_of_teams(team_ids: Sequence[int]) -> QuerySet[Ticket]:
    """``ticket_list_for_user`` for a desk person whose teams are already known (a plain
    list of ids is quicker to plan than the access rule's subqueries)."""
    return _listed(Ticket.objects.filter(team_id__in=team_ids))


def _listed(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return tickets.select_related("team", "requester", "assignee", "shadow").order_by(
        "-last_message_at", "-pk"
    )


def with_message_counts(tickets: Sequence[Ticket]) -> Sequence[Ticket]:
    """Set ``message_count`` on each ticket of a page: one grouped query over their ids (an
    annotation on the whole queue would count every message of every ticket)."""
    counts = dict(
        Message.objects.filter(ticket_id__in=[t.pk for t in tickets])
        .values("ticket_id")
        .annotate(n=Count("pk"))
        .values_list("ticket_id", "n")
    )
    for ticket in tickets:
        ticket.message_count = counts.get(ticket.pk, 0)  # type: ignore[attr-defined]
    return tickets


def queue_counts(user: AnyUser, views: dict[str, Q]) -> dict[str, int]:
    """How many open tickets each of the queue's views holds: one query over the open
    tickets only (the index on team and status finds them), whatever the views. The views
    of closed tickets are archives of ten thousands: they are not counted."""
    tickets = Ticket.objects.filter(visible_tickets_q(user), status__in=OPEN_STATUSES)
    return tickets.aggregate(**{name: Count("pk", filter=q) for name, q in views.items()})


def ticket_get_for_user(
    user: AnyUser,
    *,
    prefix: str,
    number: int,
    for_page: bool = False,
    latest: int | None = None,
) -> Ticket | None:
    """One ticket with its thread, or None when it does not exist or is not the user's to see.

    Found by its number first and checked with ``may_see`` after: the same rule as
    ``visible_tickets_q``. Whether the user works the team's desk comes with the ticket (the
    answer ``may_act`` then gives without a query). ``for_page``: also whether the ticket has
    drafts waiting and links, so that the page asks for them only when it has some, and what
    the side panels asked for (tickets.panels).
    merged_into is left to load when set: joining it (and its team) doubles the time
    PostgreSQL spends planning the query, for the few tickets merged away.
    ``latest``: only the first message and the latest ``latest`` are loaded (a thread of ten
    thousand stays fast; ``ticket.messages.all()`` is then those), and ``message_count`` is
    annotated so that the page can say how many it left out (``thread_older`` pages them)."""
    tickets = Ticket.objects.filter(team__ticket_prefix=prefix.upper(), number=number)
    # Whom to ask about: a signed-in user who is not a superuser (who sees everything).
    viewer = user if isinstance(user, User) and not user.is_superuser else None
    if viewer is not None:
        tickets = tickets.annotate(
            viewer_works_desk=Exists(
                Membership.objects.filter(user=viewer, team=OuterRef("team"), role__in=DESK_ROLES)
            )
        )
    if for_page:
        tickets = tickets.annotate(
            has_drafts=Exists(
                ReplyDraft.objects.filter(ticket=OuterRef("pk"), state=DraftState.PENDING)
            ),
            has_links=Exists(
                TicketLink.objects.filter(
                    Q(from_ticket=OuterRef("pk")) | Q(to_ticket=OuterRef("pk"))
                )
            ),
            **page_annotations(),
        )
    if latest is not None:
        tickets = tickets.annotate(message_count=_message_count())
    ticket = tickets.select_related("team", "requester", "assignee", "shadow").first()
    if ticket is None:
        return None
    if viewer is not None:
        desk_answer_known(viewer, ticket.team_id, ticket.viewer_works_desk)  # type: ignore[attr-defined]
    if not may_see(user, ticket):
        return None
    messages = _thread_messages()
    if latest is not None:
        # Both ends by the (ticket, created_at) index: LIMITed subqueries, one query still.
        of_ticket = Message.objects.filter(ticket_id=ticket.pk)
        first = of_ticket.order_by("created_at", "pk").values("pk")[:1]
        last = of_ticket.order_by("-created_at", "-pk").values("pk")[:latest]
        messages = messages.filter(Q(pk__in=first) | Q(pk__in=last))
    prefetch_related_objects([ticket], Prefetch("messages", queryset=messages))
    return ticket


def _thread_messages() -> QuerySet[Message]:
    return Message.objects.select_related("author").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
    )


def _message_count() -> Coalesce:
    return Coalesce(
        Subquery(
            Message.objects.filter(ticket=OuterRef("pk"))
            .order_by()
            .values("ticket")
            .annotate(n=Count("pk"))
            .values("n"),
            output_field=IntegerField(),
        ),
        0,
    )


@dataclass(frozen=True)
class OlderPage:
    messages: list[Message]
    remaining: int  # older still, after these (the first message not counted)


def thread_older(ticket: Ticket, *, before: Message, size: int) -> OlderPage:
    """The ``size`` messages just before ``before``, oldest first, leaving out the thread's
    first message (the page always shows it), and how many older ones remain after them."""
    of_ticket = Message.objects.filter(ticket_id=ticket.pk)
    first_pk = of_ticket.order_by("created_at", "pk").values_list("pk", flat=True)[:1]
    earlier = of_ticket.filter(
        Q(created_at__lt=before.created_at) | Q(created_at=before.created_at, pk__lt=before.pk)
    ).exclude(pk__in=first_pk)
    page = list(
        _thread_messages().filter(pk__in=earlier.order_by("-created_at", "-pk").values("pk")[:size])
    )
    remaining = 0
    if page:
        oldest = page[0]
        remaining = (
            earlier.filter(
                Q(created_at__lt=oldest.created_at)
                | Q(created_at=oldest.created_at, pk__lt=oldest.pk)
            )
            .order_by()
            .count()
        )
    return OlderPage(page, remaining)


def requester_by_email(email: str) -> Requester | None:
    """The requester with this address in any case; uses the unique index on lower(email)
    (``email__iexact`` compiles to UPPER() on PostgreSQL, which no index serves)."""
    return (
        Requester.objects.alias(email_lower=Lower("email"))
        .filter(email_lower=email.strip().lower())
        .first()
    )


def ticket_by_reference_for_user(user: AnyUser, text: str) -> Ticket | None:
    """A ticket the user may see, by "DAST-12" (any case, also "[DAST-12]")."""
    reference = parse_reference(text)
    if reference is None:
        return None
    return (
        Ticket.objects.filter(
            team__in=teams_for_desk_user(user),
            team__ticket_prefix=reference[0],
            number=reference[1],
        )
        .select_related("team")
        .first()
    )


@dataclass
class PageExtras:
    """What the ticket page shows beside the thread: whom it can be given to, canned
    answers (the ticket's category first), trainees' drafts waiting, linked tickets."""

    people: list[User]
    canned: list[CannedAnswer]
    drafts: list[ReplyDraft]
    links: list[tuple[str, Ticket]]


def desk_people(team_id: int) -> list[User]:
    """Who may own the team's tickets: its desk people, by name."""
    return desk_people_of([team_id])


def desk_people_of(teams: Sequence[Team | int]) -> list[User]:
    """The desk people of these teams (the queue's "assign to" list), by name."""
    return list(_desk_people(teams))


def _desk_people(teams: Sequence[Team | int]) -> QuerySet[User]:
    return (
        User.objects.filter(
            memberships__team__in=teams, memberships__role__in=DESK_ROLES, is_active=True
        )
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def ticket_page_extras(ticket: Ticket) -> PageExtras:
    """No query for a ticket loaded ``for_page`` without drafts or links (else one for each,
    and one for the linked tickets); the team's people and canned answers come from the
    cache (people.teamcache) once it has them."""
    team_id = ticket.team_id
    people = team_cached(
        team_id,
        PEOPLE_CACHED,
        # No password hashes in the cache: the page shows names.
        lambda: list(_desk_people([team_id]).only("username", "first_name", "last_name")),
    )
    canned = sorted(
        team_cached(
            team_id,
            CANNED_CACHED,
            lambda: list(CannedAnswer.objects.filter(team_id=team_id, active=True)),
        ),
        key=lambda c: (c.category != ticket.category, c.title.lower()),
    )
    # Drafts and links are asked for only when the ticket has some (``for_page`` says).
    drafts = (
        list(
            ReplyDraft.objects.filter(ticket=ticket, state=DraftState.PENDING).select_related(
                "author"
            )
        )
        if getattr(ticket, "has_drafts", True)
        else []
    )
    rows = (
        list(TicketLink.objects.filter(Q(from_ticket=ticket) | Q(to_ticket=ticket)).order_by("pk"))
        if getattr(ticket, "has_links", True)
        else []
    )
    other_of = {
        r.pk: r.to_ticket_id if r.from_ticket_id == ticket.pk else r.from_ticket_id for r in rows
    }
    others = Ticket.objects.select_related("team").in_bulk(set(other_of.values()))
    links = [
        (
            link.get_kind_display() if link.from_ticket_id == ticket.pk else "Linked from",
            others[other_of[link.pk]],
        )
        for link in rows
    ]
    return PageExtras(people, canned, drafts, links)


@dataclass
class TicketPage:
    """Everything the ticket page shows, read in a handful of queries: the ticket, its
    thread's first message and latest ones (``older`` left out between them, paged by
    ``thread_older``), and what sits beside the thread."""

    ticket: Ticket
    first: list[Message]
    latest: list[Message]
    older: int
    extras: PageExtras

    @property
    def older_before(self) -> int | None:
        """The message the "show older" link pages back from."""
        return self.latest[0].pk if self.older > 0 and self.latest else None


def ticket_page(user: AnyUser, *, prefix: str, number: int, latest: int) -> TicketPage | None:
    """The ticket page's whole read, or None when the ticket does not exist or is not the
    user's to see (the same answer for both: existence is not leaked)."""
    ticket = ticket_get_for_user(user, prefix=prefix, number=number, for_page=True, latest=latest)
    if ticket is None:
        return None
    shown = list(ticket.messages.all())
    older = ticket.message_count - len(shown)  # type: ignore[attr-defined]
    split = 1 if older > 0 else len(shown)
    return TicketPage(ticket, shown[:split], shown[split:], older, ticket_page_extras(ticket))


def ticket_events(ticket: Ticket) -> list[TicketEvent]:
    """The ticket's event log in the order things happened, with the people who acted (an
    archive import records mail after the fact). One query."""
    events = TicketEvent.objects.filter(ticket=ticket).select_related("actor")
    return list(events.order_by("at", "id"))
