"""The one kind of refusal the desk's services raise: what is wrong, in words for the person
who asked, and which input is to blame when one is.

Each app names its own (``DeskError``, ``ShiftError``, ``EscalationError``) as a subclass, so
that a view catches what its services raise; a web view shows ``message`` on the page, and
every REST API answers it through one DRF exception handler
(``people.api_common.exception_handler``, REST_FRAMEWORK's EXCEPTION_HANDLER) as
``status`` with ``{"detail": message, "field": field, "code": code}``.
"""

from __future__ import annotations


class ApplicationError(Exception):
    """A request the desk's rules refuse; ``field`` names the input at fault, when one is."""

    status = 400
    code = "refused"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Forbidden(ApplicationError):
    """The request is well formed but this person may not make it."""

    status = 403
    code = "permission_denied"
