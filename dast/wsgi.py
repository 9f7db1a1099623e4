"""The web server's entry point: ``gunicorn dast.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dast.settings")
application = get_wsgi_application()

from dast.process import freeze_loaded_objects  # noqa: E402 - needs Django set up

freeze_loaded_objects()
