"""Subprocesses started by tests are fenced to loopback too."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import socket
assert getattr(socket, "ENGAGE_LOOPBACK_GUARD", False), "guard not loaded"
try:
    socket.getaddrinfo("example.com", 443)
except socket.gaierror as exc:
    print("refused-dns", exc)
s = socket.socket()
try:
    s.connect(("192.0.2.1", 9))  # refused by the guard before any packet is sent
except OSError as exc:
    print("refused-connect", type(exc).__name__)
finally:
    s.close()
listener = socket.create_server(("127.0.0.1", 0))
client = socket.create_connection(listener.getsockname())
print("loopback-ok")
client.close(); listener.close()
"""


def test_a_python_subprocess_reaches_loopback_only() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "refused-dns" in done.stdout
    assert "refused-connect OutsideLoopbackError" in done.stdout
    assert "loopback-ok" in done.stdout
