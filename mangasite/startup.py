"""Servers refuse to start on a configuration the system checks reject.

`manage.py` runs the checks before every command; gunicorn and daphne import the entry points
directly and would otherwise serve with, say, the placeholder SECRET_KEY. Both entry points call
`refuse_bad_configuration()` once, at import, so the server exits before it accepts a connection.
"""

from __future__ import annotations

import sys

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


class ServerRefusesToStart(ImproperlyConfigured):
    """The system checks found errors; the message lists each as Django prints it."""


def refuse_bad_configuration() -> None:
    errors = [message for message in checks.run_checks() if message.is_serious() and not message.is_silenced()]
    if errors:
        text = "the server refuses to start:\n" + "\n".join(f"  {error}" for error in errors)
        print(text, file=sys.stderr)  # servers log import errors in their own formats; this line is plain
        raise ServerRefusesToStart(text)
