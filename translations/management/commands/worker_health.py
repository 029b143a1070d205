"""`manage.py worker_health`: exit 0 when a django-q2 cluster on this host reported to the broker in
the last few seconds (the compose worker's healthcheck). Needs the Redis broker: the ORM broker
keeps cluster status in a per-process cache that no other process can read."""

from __future__ import annotations

import socket

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_q.status import Stat


class Command(BaseCommand):
    help = "Exit 0 if a worker cluster on this host is alive (Redis broker only)."

    def handle(self, *args, **options) -> None:
        if not settings.REDIS_URL:
            raise CommandError("worker_health needs REDIS_URL: the ORM broker keeps no shared cluster status")
        host = socket.gethostname()
        # A cluster writes its status every few seconds with a 3-second expiry: present means alive.
        mine = [stat for stat in Stat.get_all() if stat.host == host]
        if not mine:
            raise CommandError(f"no worker cluster on {host} reported to the broker")
        for stat in mine:
            self.stdout.write(f"cluster {stat.cluster_id} on {host}: {stat.status}, {len(stat.workers)} workers")
