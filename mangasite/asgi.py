"""ASGI entry point: WebSockets to the Channels consumers (daphne, `/ws/`), HTTP to Django.

In production daphne serves only `/ws/` and gunicorn the HTTP (docs/serving.md); HTTP here keeps
the embedded setup (`make demo`) one process. Refuses to start on a configuration the system
checks reject, like wsgi.py.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mangasite.settings")
# Django must be set up before anything imports models (consumers do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from mangasite.startup import refuse_bad_configuration  # noqa: E402
from mangasite.ws_origin import SameOriginValidator  # noqa: E402
from scraper.routing import websocket_urlpatterns as scraper_websocket_urlpatterns  # noqa: E402
from translations.api.ws_auth import TokenSubprotocolMiddleware  # noqa: E402
from translations.routing import websocket_urlpatterns  # noqa: E402

refuse_bad_configuration()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Session cookie first; an API token in Sec-WebSocket-Protocol overrides it (translations/api/ws_auth.py).
        "websocket": SameOriginValidator(
            AuthMiddlewareStack(
                TokenSubprotocolMiddleware(URLRouter(websocket_urlpatterns + scraper_websocket_urlpatterns))
            )
        ),
    }
)
