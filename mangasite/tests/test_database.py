"""The embedded SQLite setup must take concurrent writers (web + workers) without 'database is locked'."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from translations.models import Chapter, Manga

sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded SQLite setup only")


@sqlite_only
@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode():
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_read_then_write_transactions_all_commit():
    # The pattern of a worker claiming work: read, then write, in one transaction. With
    # SQLite's default DEFERRED mode two such transactions deadlock on the lock upgrade and
    # one fails at once with "database is locked"; IMMEDIATE + busy timeout makes them queue.
    manga = Manga.objects.create(slug="concurrent", title="Concurrent")
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(worker: int) -> None:
        try:
            start.wait()
            for n in range(15):
                with transaction.atomic():
                    count = Chapter.objects.filter(manga=manga).count()
                    Chapter.objects.create(manga=manga, number=Decimal(worker * 100 + n), title=str(count))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert Chapter.objects.filter(manga=manga).count() == 60


postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL pool only")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_many_threads_share_at_most_the_pools_connections(settings):
    # Under ASGI every request ran in a thread of its own and kept its own connection (conn_max_age=60):
    # daphne took 91 of the server's 100. A pool bounds a process however many threads it runs.
    limit = settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
    backends: set[int] = set()
    errors: list[BaseException] = []
    start = threading.Barrier(3 * limit)

    def query() -> None:
        try:
            start.wait()
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid(), pg_sleep(0.05)")
                backends.add(cursor.fetchone()[0])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()  # what the end of a request does: the connection goes back to the pool

    threads = [threading.Thread(target=query) for _ in range(3 * limit)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert 1 <= len(backends) <= limit
