"""A test's own HTTP server on 127.0.0.1: a handler class served from a daemon thread.

The replay server, the hostile server and the one-off servers of single tests
(a dripping body, a few images) run on it. It knows nothing of any network.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class LocalServer:
    """Serves ``handler`` on a free loopback port once started; ``base_url`` names it."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        # A short poll interval makes stop() take milliseconds instead of half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` on 127.0.0.1 for the block; yields its base URL (``http://127.0.0.1:port``)."""
    with LocalServer(handler) as server:
        yield server.base_url


def drip(out: Any, byte: bytes, times: int = 100, pause: float = 0.1) -> None:
    """Write ``byte`` to ``out`` every ``pause`` seconds, ``times`` times: a body that never
    stalls long enough for a read timeout, until the client gives up on the whole."""
    try:
        for _ in range(times):
            out.write(byte)
            out.flush()
            time.sleep(pause)
    except OSError:
        pass  # the client gave up, as it should
