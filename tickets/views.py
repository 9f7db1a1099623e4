from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from people.access import may_act
from people.names import display_name
from people.selectors import teams_for_desk_user
from tickets.access import may_do
from tickets.forms import BulkAction, QueueFilter, drafts_pending, queue_views
from tickets.history import history_lines
from tickets.models import Category, LinkKind, Message, Priority, Status, Ticket
from tickets.panels import render_panels
from tickets.presence import writing_now
from tickets.rowmarks import with_row_marks
from tickets.search import ticket_search
from tickets.selectors import (
    desk_people,
    desk_people_of,
    queue_counts,
    thread_older,
    ticket_events,
    ticket_get_for_user,
    ticket_list_for_user,
    ticket_page,
    with_message_counts,
)
from tickets.services import ticket_seen
from tickets.services.desk import DeskError, ticket_merge, tickets_bulk
from tickets.thread import thread_html

PAGE_SIZE = 50
# Views of closed tickets (the archive): listed, not counted.
UNCOUNTED = {"done", "all"}


def home(request: HttpRequest) -> HttpResponse:
    return redirect("ticket-list")


def _htmx_wants(request: HttpRequest, target: str) -> bool:
    """Whether this is htmx asking for the element ``target`` of the page alone."""
    htmx = getattr(request, "htmx", None)  # django_htmx's HtmxMiddleware sets it
    if not htmx:
        return False
    return bool(htmx.target == target and not htmx.history_restore_request)


@login_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    """The queue: a view (mine, new, overdue, ...), filters, sort, pages, counts per view."""
    assert isinstance(request.user, User)
    views = queue_views(request.user.pk)
    q = request.GET.get("q", "").strip()
    view = request.GET.get("view") or request.GET.get("tab") or ("all" if q else "open")
    if view not in views:
        view = "open"
    teams = list(teams_for_desk_user(request.user))
    filters = QueueFilter(request.GET, teams=teams)
    found = ticket_search(request.user, q, teams=teams) if q else ticket_list_for_user(request.user)
    # The row's "draft to approve" badge comes with the listing's own query.
    listed = found.filter(views[view][1]).annotate(draft_pending=drafts_pending())
    tickets = filters.apply(listed, ranked=bool(q))
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = with_message_counts(list(page.object_list))
    # Other apps' icons on the rows (a site in downtime): a few queries for the whole page.
    with_row_marks(page.object_list, timezone.now())
    # The counts are of the whole queue: beside a search's results they would read as
    # counts of the matches, so a search shows none.
    counts = (
        {}
        if q
        else queue_counts(
            request.user, {name: q for name, (_, q) in views.items() if name not in UNCOUNTED}
        )
    )
    query = request.GET.copy()
    query.pop("page", None)
    # htmx asks for the queue alone when a tab, filter, page or search changes it, and every
    # minute to refresh it (templates/tickets/_queue.html); a history restore wants it all.
    partial = _htmx_wants(request, "queue")
    response = render(
        request,
        "tickets/_queue.html" if partial else "tickets/ticket_list.html",
        {
            "partial": partial,
            "refresh_seconds": settings.QUEUE_REFRESH_SECONDS,
            "page": page,
            "view": view,
            "q": q,
            "views": [(name, label, counts.get(name)) for name, (label, _) in views.items()],
            "filters": filters,
            "query": query.urlencode(),
            "teams": teams,
            "people": desk_people_of(teams),
            "categories": Category.choices,
            "bulk_actions": BulkAction.ACTIONS,
        },
    )
    # One URL, two answers: a browser's cache must not serve the list alone as the page.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@login_required
@require_POST
def ticket_bulk(request: HttpRequest) -> HttpResponse:
    """One action on the tickets ticked in the queue; back to the same view and filters.
    Ticked tickets the caller cannot see are left out (as if they did not exist); one they
    see but may not act on (an expert's) refuses the whole action (403)."""
    assert isinstance(request.user, User)
    back = request.POST.get("back", "")
    target = reverse("ticket-list") + (f"?{back}" if back and "//" not in back else "")
    form = BulkAction(request.POST)
    ids = [int(v) for v in request.POST.getlist("tickets") if v.isdigit()][:PAGE_SIZE]
    tickets = list(ticket_list_for_user(request.user).filter(pk__in=ids).order_by("created_at"))
    if not tickets:
        messages.error(request, "Tick the tickets first.")
        return redirect(target)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(str(e) for e in errors)}")
        return redirect(target)
    data = form.cleaned_data
    if not all(may_do(request.user, t, str(data["action"])) for t in tickets):
        raise PermissionDenied("Only the team's desk people act on its tickets.")
    try:
        done = _bulk(request.user, tickets, data)
    except DeskError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect(target)


def _bulk(user: User, tickets: list[Ticket], data: dict[str, object]) -> str:
    action = data["action"]
    if action == "merge":
        if len(tickets) < 2:
            raise DeskError("Tick at least two tickets to merge.")
        into, rest = tickets[0], tickets[1:]
        with transaction.atomic():
            for ticket in rest:
                ticket_merge(ticket=ticket, into=into, by=user)
        return f"Merged {len(rest)} into {into.reference}."
    if action == "assign":
        people = {p.pk: p for p in desk_people(tickets[0].team_id)}
        person = people.get(int(str(data["assignee"])))
        if person is None or any(t.team_id != tickets[0].team_id for t in tickets):
            raise DeskError("Choose someone of the team the tickets belong to.", field="assignee")
        changed = tickets_bulk(tickets=tickets, by=user, assignee=person)
        return f"{changed} assigned to {display_name(person)}."
    if action == "category":
        changed = tickets_bulk(tickets=tickets, by=user, category=str(data["category"]))
        return f"Category set on {changed}."
    changed = tickets_bulk(tickets=tickets, by=user, close=True)
    return f"{changed} closed."


@login_required
def ticket_history(request: HttpRequest, reference: tuple[str, int]) -> HttpResponse:
    """Everything that happened to the ticket, from its event log (folded on the page)."""
    prefix, number = reference
    ticket = ticket_get_for_user(request.user, prefix=prefix, number=number)
    if ticket is None:
        raise Http404("No such ticket")
    lines = history_lines(ticket_events(ticket))
    return render(request, "tickets/ticket_history.html", {"ticket": ticket, "lines": lines})


@login_required
def ticket_detail(request: HttpRequest, reference: tuple[str, int]) -> HttpResponse:
    prefix, number = reference
    page = ticket_page(
        request.user, prefix=prefix, number=number, latest=settings.THREAD_LATEST_MESSAGES
    )
    if page is None:
        raise Http404("No such ticket")
    assert isinstance(request.user, User)
    ticket = page.ticket
    ticket_seen(ticket=ticket, user=request.user)
    # A long thread: its first message, then "show older" for those left out, then the latest.
    thread = thread_html(ticket, page.first + page.latest)
    return render(
        request,
        "tickets/ticket_detail.html",
        {
            "ticket": ticket,
            "may_act": may_act(request.user, ticket.team_id),
            "extras": page.extras,
            "thread": thread[: len(page.first)],
            "thread_latest": thread[len(page.first) :],
            "older": page.older,
            "older_before": page.older_before,
            "draft_body": request.session.get(f"draft-{ticket.pk}", ""),
            "statuses": Status.choices,
            "categories": Category.choices,
            "priorities": Priority.choices,
            "link_kinds": LinkKind.choices,
            "panels": render_panels(request, ticket),
            "writers": writing_now(ticket_pk=ticket.pk, viewer=request.user),
            "presence_poll_s": settings.PRESENCE_POLL_S,
        },
    )


@login_required
def ticket_thread_older(request: HttpRequest, reference: tuple[str, int]) -> HttpResponse:
    """A page of the messages a long thread's page left out, older than ``before``: htmx
    puts it in place of the "show older" link; without JavaScript the link opens it as a
    page of its own, with a link to the page before it."""
    prefix, number = reference
    ticket = ticket_get_for_user(request.user, prefix=prefix, number=number, latest=0)
    if ticket is None:
        raise Http404("No such ticket")
    try:
        before = Message.objects.get(ticket=ticket, pk=int(request.GET.get("before", "")))
    except (ValueError, Message.DoesNotExist):
        raise Http404("No such message in this ticket") from None
    page = thread_older(ticket, before=before, size=settings.THREAD_OLDER_PAGE)
    context = {
        "ticket": ticket,
        "thread": thread_html(ticket, page.messages),
        "older": page.remaining,
        "older_before": page.messages[0].pk if page.messages else None,
    }
    htmx = getattr(request, "htmx", None)  # django_htmx's HtmxMiddleware sets it
    template = "tickets/_thread_older.html" if htmx else "tickets/thread_older.html"
    return render(request, template, context)
