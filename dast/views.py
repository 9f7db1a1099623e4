from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dast.health import check_broker, check_database, event_consumers, mailboxes


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    problems = {"database": check_database(), "broker": check_broker()}
    events: dict[str, object] = {}
    polled: dict[str, object] = {}
    if problems["database"] is None:
        problems["events"], events = event_consumers()
        problems["mail"], polled = mailboxes()
    failing = {name: reason for name, reason in problems.items() if reason}
    body: dict[str, object] = {
        "status": "fail" if failing else "ok",
        **{name: reason or "ok" for name, reason in problems.items()},
    }
    if events:
        body["event_consumers"] = events
    if polled:
        body["mailbox_last_poll_s"] = polled
    return JsonResponse(body, status=503 if failing else 200)
