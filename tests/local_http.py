"""A test's own HTTP server on 127.0.0.1: a handler class served from a daemon thread.

The replay server, the hostile server and the one-off servers of single tests
(a dripping body, a few images) run on it. It knows nothing of any network.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from pelican.plugins.engage.sandbox.base import LoopbackServer

# Serves a handler class on a free loopback port once started; ``base_url`` names it. It is
# the stand-ins' own server: tests may import the sandbox, never the other way round.
LocalServer = LoopbackServer


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
