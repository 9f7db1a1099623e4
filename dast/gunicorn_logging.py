"""gunicorn's logger with the URL secrets taken out of the access log (dast.redact).
The compose ``web`` service and the Docker image start gunicorn with
``--logger-class dast.gunicorn_logging.RedactingLogger``."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from dast.redact import redact


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}
