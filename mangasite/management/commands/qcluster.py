"""`manage.py qcluster`: django-q2's cluster, stopping in order on a SIGTERM sent to its whole process group.

django-q2's sentinel resets SIGTERM to its default, so a group SIGTERM (systemd, docker) killed the
sentinel, pusher and monitor at once and left the cluster hanging or the page half done. Here the
sentinel, and the pusher and monitor it forks, ignore SIGTERM and SIGINT: the cluster's main process
(which django-q2 gives a handler) starts the orderly stop, the pusher stops taking tasks, workers
finish their page (translations/worker_shutdown.py) and take the stop pill, the monitor saves the
results. A SIGTERM to the main process alone (`docker stop`) takes the same path: the sentinel
passes it on to the workers. Stop settings for systemd and compose: docs/serving.md.
"""

from __future__ import annotations

import os
import signal

from django_q import cluster
from django_q.management.commands.qcluster import Command as DjangoQCommand
from django_q.signals import post_spawn

from translations.worker_shutdown import install_in_worker


class OrderlySentinel(cluster.Sentinel):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, start=False, **kwargs)  # django-q2 sets SIGTERM to its default here
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited by the pusher, monitor and workers it forks
        self.start()

    def stop(self) -> None:
        # `docker stop` signals only the main process: tell the workers too, so each ends after its page.
        for process in self.pool:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        super().stop()


class Command(DjangoQCommand):
    def handle(self, *args, **options) -> None:
        cluster.Sentinel = OrderlySentinel  # Cluster.start() forks the sentinel class it finds here
        post_spawn.connect(install_in_worker, dispatch_uid="mangasite-worker-shutdown")
        super().handle(*args, **options)
