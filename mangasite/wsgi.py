"""WSGI entry point, for management tooling only: the site is served over ASGI (asgi.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mangasite.settings")
application = get_wsgi_application()
