"""Loaded by every Python subprocess a test starts: nothing but loopback, not even DNS.

conftest.py puts this folder first on PYTHONPATH, so `engage`, `invoke` and
`python -c` children get the same fence as the test process (which has
pytest-socket and a resolver guard).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

LOOPBACK_NAMES = {"localhost", "", None}
_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class OutsideLoopbackError(OSError):
    """A test subprocess tried to reach beyond this machine."""


def _is_loopback(host: Any) -> bool:
    name = host.decode() if isinstance(host, bytes) else host
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(name).split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_loopback(host):
        raise socket.gaierror(socket.EAI_NONAME, f"test subprocesses do not resolve {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def _check(address: Any) -> None:
    if isinstance(address, tuple) and not _is_loopback(address[0]):
        raise OutsideLoopbackError(f"test subprocesses reach loopback only, not {address[0]!r}")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(address)
    return _real_connect_ex(self, address)


socket.getaddrinfo = _guarded_getaddrinfo
socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.ENGAGE_LOOPBACK_GUARD = True  # type: ignore[attr-defined]  # lets a test see it loaded

# `make mutation`: take the product's crash recovery away inside this subprocess only.
if _mutation := os.environ.get("ENGAGE_MUTATION"):
    import engage_mutation

    engage_mutation.install(_mutation)
