"""Secrets that travel in URLs stay out of logs: the requester's one-time sign-in link
(/my/signin/<token>/) and the private iCal feeds (/shifts/feeds/<token>.ics). The mailed
link must be a plain GET link, so the token is in the request line (and, after the
sign-in button, in the Referer of the next request): every log line that may quote a URL
goes through ``redact`` — gunicorn's access log (``dast.gunicorn_logging.RedactingLogger``) and
Django's own loggers (``RedactSecrets``, a logging filter in LOGGING)."""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
_SECRET_PATHS = [
    re.compile(r"(/my/signin/)[^/?#\s\"']+"),
    re.compile(r"(/shifts/feeds/)(?!renew/)[^/?#\s\"']+?(?=\.ics)"),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATHS:
        text = pattern.sub(rf"\g<1>{REDACTED}", text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites a record's message (its arguments merged in) without the URL secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
