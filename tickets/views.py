from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tickets.models import OPEN_STATUSES, Category, LinkKind, Priority, Status
from tickets.panels import render_panels
from tickets.selectors import (
    teams_for_desk_user,
    ticket_get_for_user,
    ticket_list_for_user,
    ticket_page_extras,
)
from tickets.services import ticket_seen

# The list's tabs: name -> (label, filter). Later issues add mine/overdue/... as queues.
TABS: dict[str, tuple[str, dict[str, object]]] = {
    "open": ("Open", {"status__in": OPEN_STATUSES}),
    "new": ("New", {"status": Status.NEW}),
    "waiting_user": ("Waiting on user", {"status": Status.WAITING_ON_USER}),
    "waiting_expert": ("Waiting on expert", {"status": Status.WAITING_ON_EXPERT}),
    "overdue": ("Overdue", {"overdue_since__isnull": False, "status__in": OPEN_STATUSES}),
    "done": ("Resolved / closed", {"status__in": (Status.RESOLVED, Status.CLOSED)}),
    "all": ("All", {}),
}
PAGE_SIZE = 50


def home(request: HttpRequest) -> HttpResponse:
    return redirect("ticket-list")


@login_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("tab", "open")
    if tab not in TABS:
        tab = "open"
    tickets = ticket_list_for_user(request.user).filter(**TABS[tab][1])
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "tickets/ticket_list.html",
        {
            "page": page,
            "tab": tab,
            "tabs": [(name, label) for name, (label, _) in TABS.items()],
            "teams": teams_for_desk_user(request.user),
        },
    )


@login_required
def ticket_detail(request: HttpRequest, reference: tuple[str, int]) -> HttpResponse:
    prefix, number = reference
    ticket = ticket_get_for_user(request.user, prefix=prefix, number=number)
    if ticket is None:
        # The same answer for "no such ticket" and "not yours": existence is not leaked.
        raise Http404("No such ticket")
    assert isinstance(request.user, User)
    ticket_seen(ticket=ticket, user=request.user)
    return render(
        request,
        "tickets/ticket_detail.html",
        {
            "ticket": ticket,
            "extras": ticket_page_extras(ticket),
            "draft_body": request.session.get(f"draft-{ticket.pk}", ""),
            "statuses": Status.choices,
            "categories": Category.choices,
            "priorities": Priority.choices,
            "link_kinds": LinkKind.choices,
            "panels": render_panels(request, ticket),
        },
    )
