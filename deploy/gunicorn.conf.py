"""gunicorn settings for the web server (systemd `mangasite-web.service`, compose `web`).

`gunicorn -c deploy/gunicorn.conf.py mangasite.wsgi:application`; each value can be changed by
the environment (docs/configuration.md, "Serving").
"""

import os

bind = os.environ.get("MANGA_WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("MANGA_WEB_WORKERS", "2"))
threads = int(os.environ.get("MANGA_WEB_THREADS", "4"))
worker_class = "gthread"
# The numbers of docs/serving.md: threads = MANGA_DB_POOL_MAX_SIZE (one pooled connection each).
# A worker stuck in one request this long is restarted; raise it for very large CBZ imports.
timeout = int(os.environ.get("MANGA_WEB_TIMEOUT", "60"))
# On SIGTERM, requests in flight get this long; below the unit's TimeoutStopSec (35 s).
graceful_timeout = int(os.environ.get("MANGA_WEB_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Recycle a worker now and then, so slow growth of memory stays bounded. A worker takes seconds to
# boot (Django and its apps imported): the jitter is wide so that two workers seldom recycle at the
# same time, which left no worker answering (bench/reader_pages.py saw 2.6 s p95 with 2000 ± 200).
max_requests = 20000
max_requests_jitter = 10000
# nginx is the only client: trust its X-Forwarded-* from loopback (and the compose network).
forwarded_allow_ips = os.environ.get("MANGA_WEB_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# gunicorn's control socket (default ~/.gunicorn/) is not used: systemd and compose signal the master.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
# Workers are forked after the app is imported only when preload is off: models and database
# connections are opened per worker, never shared across a fork.
preload_app = False
