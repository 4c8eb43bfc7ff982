"""A pre-imported `engage` that forks one fresh process per command, for the crash runs.

Starting the console script costs one to two seconds of imports (Pelican, the
network SDKs) before it does anything; the crash runs start some 300 commands.
This process imports the command line and every network adapter once, then reads
one JSON request per line on stdin. ``{"op": "start", "args", "cwd", "env",
"log"}`` forks a child that starts its own session (process group), points stdin
at /dev/null and stdout/stderr at ``log``, changes to ``cwd``, replaces its
environment with ``env`` and runs ``engage args`` as the console script does
(``pelican.plugins.engage.cli:main``); the answer is ``{"pid": N}`` at once and
``{"exit": code}`` (negative: the signal) when the child is gone. ``{"op":
"kill"}`` sends that child's process group a real SIGKILL: from this process,
which alone knows the pid is still the child's (it is not reaped yet).

Started by tests/crash_harness.py with the children's environment, so the
loopback guard and any ``ENGAGE_MUTATION`` apply here and in every child.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import traceback
from collections.abc import Iterator
from typing import Any


def _child(request: dict[str, Any]) -> None:
    code = 1
    try:
        os.setsid()
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.stdin = open(os.devnull)  # noqa: SIM115 - the child ends with os._exit
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["engage", *request["args"]]
        from pelican.plugins.engage.cli import main

        try:
            main()
            code = 0
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - reported in the log, the exit code says it failed
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _lines() -> Iterator[dict[str, Any]]:
    """Requests from stdin, unbuffered (``select`` must see what is not read yet)."""
    pending = b""
    while chunk := os.read(0, 65536):
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            yield json.loads(line)


def _kill(pid: int) -> None:
    """SIGKILL the child's process group (or the child, before it made its group).

    Only this process can do it safely: the child is not reaped yet, so its pid
    and group id cannot belong to anyone else.
    """
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        os.kill(pid, signal.SIGKILL)


def main() -> None:
    # What every command needs, imported once (the children inherit it by fork).
    from pelican.plugins.engage import cli, site  # noqa: F401
    from pelican.plugins.engage.networks import adapter_class

    for name in ("mastodon", "bluesky", "x", "facebook"):
        adapter_class(name)
    requests = _lines()
    for request in requests:
        if request.get("op") != "start":
            continue  # a kill for a child already gone
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)
        print(json.dumps({"pid": pid}), flush=True)
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if select.select([0], [], [], 0.002)[0]:
                command = next(requests, None)  # None: the harness went away
                if command is None or command.get("op") == "kill":
                    _kill(pid)
        print(json.dumps({"exit": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    main()
