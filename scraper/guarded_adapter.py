"""A requests adapter whose sockets connect only to addresses the SSRF guard admits.

urllib3 resolves the host again when it opens a connection; this connection class resolves
it once, checks every address (scraper/ssrf.py) and connects to the checked address itself,
so what was checked is what is reached. TLS still verifies against the host name.
"""

from __future__ import annotations

import socket

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection

from scraper.ssrf import resolve_checked


def guarded_socket(conn: HTTPConnection) -> socket.socket:
    """What urllib3's `_new_conn` does, but only to addresses the guard admits."""
    infos = resolve_checked(conn._dns_host, conn.port)  # BlockedAddress propagates as it is
    failure: OSError | None = None
    for info in infos:
        try:
            return connection.create_connection(
                (str(info[4][0]), conn.port),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(conn, f"Connection to {conn.host} timed out.") from exc
        except OSError as exc:
            failure = exc
    raise NewConnectionError(conn, f"Failed to establish a new connection: {failure}")


class GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return guarded_socket(self)


class GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return guarded_socket(self)


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedHTTPAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }

    def proxy_manager_for(self, *args, **kwargs):
        raise RuntimeError("scraper requests never go through a proxy (the SSRF guard checks the real peer)")
