"""A forked child must not use its parent's PostgreSQL connection pool.

django-q2 forks its workers from a process that has used the database. The child would inherit
the pool's sockets (shared with the parent) but not its background threads. After a fork the
child forgets the inherited pools, so its first query opens a pool of its own. They are kept
referenced rather than closed: closing would say goodbye to the server on the parent's sockets.
"""

from __future__ import annotations

import os

_inherited: list[object] = []  # never collected in the child: collecting would close the parent's connections


def forget_inherited_pools() -> None:
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper

    if DatabaseWrapper._connection_pools:  # type: ignore[attr-defined]
        _inherited.append(dict(DatabaseWrapper._connection_pools))  # type: ignore[attr-defined]
        DatabaseWrapper._connection_pools.clear()  # type: ignore[attr-defined]
    for wrapper in connections.all(initialized_only=True):
        if wrapper.connection is not None:
            _inherited.append(wrapper.connection)
            wrapper.connection = None


def forget_pools_after_fork() -> None:
    os.register_at_fork(after_in_child=forget_inherited_pools)
