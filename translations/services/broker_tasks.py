"""Which chapter jobs have a task waiting in the django-q2 broker (ORM or Redis), read without taking it.

The sweeper uses it to tell a queued job whose task is merely waiting from one whose task was lost
(popped by a cluster that then died): the Redis broker never hands a popped task out again, and
the ORM broker only after `retry` (20 minutes).
"""

from __future__ import annotations

import logging

from django.utils import timezone
from django_q.brokers import Broker, get_broker
from django_q.brokers.orm import ORM
from django_q.brokers.redis_broker import Redis
from django_q.models import OrmQ
from django_q.signing import BadSignature, SignedPackage

logger = logging.getLogger(__name__)


def waiting_job_ids(task_name: str, *, broker: Broker | None = None) -> set[int] | None:
    """Job ids of the `task_name` tasks still waiting in the broker; None when this broker cannot be read."""
    broker = broker or get_broker()
    if isinstance(broker, ORM):
        # A row whose lock lies in the future was handed to a cluster; only the others wait.
        rows = OrmQ.objects.filter(key=broker.list_key, lock__lte=timezone.now())
        packages = list(rows.values_list("payload", flat=True))
    elif isinstance(broker, Redis):
        packages = broker.get_connection().lrange(broker.list_key, 0, -1)
    else:
        return None
    job_ids: set[int] = set()
    for package in packages:
        try:
            task = SignedPackage.loads(package)
        except (BadSignature, ValueError, TypeError):
            logger.warning("broker: a task package could not be read; skipped")
            continue
        if task.get("func") == task_name and task.get("args"):
            job_ids.add(int(task["args"][0]))
    return job_ids
