"""WSGI entry point: gunicorn serves HTTP with it in production (deploy/gunicorn.conf.py); WebSockets
go to daphne with asgi.py."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mangasite.settings")
application = get_wsgi_application()
