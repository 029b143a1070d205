"""`manage.py runserver`: daphne's development server (HTTP and the /ws/ sockets through mangasite.asgi).

daphne is not in INSTALLED_APPS (its app imports twisted and autobahn in every process that sets Django up);
its runserver is imported here, only by the process that runs it. Production serves with gunicorn and the
daphne program (docs/serving.md), neither through this command.
"""

from __future__ import annotations

from daphne.management.commands.runserver import Command as DaphneRunserver


class Command(DaphneRunserver):
    pass
