"""WSGI entry point: production HTTP (pages, API, admin, media, /healthz) under gunicorn (docs/serving.md).

WebSockets (`/ws/`) are served by daphne from asgi.py; both refuse to start on a configuration
the system checks reject (a missing SECRET_KEY with DEBUG off, say).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mangasite.settings")
application = get_wsgi_application()

from mangasite.startup import refuse_bad_configuration  # noqa: E402  (needs Django set up)

refuse_bad_configuration()
