"""Shared fixtures.

Tests never reach beyond this machine: pytest-socket (see pyproject addopts)
refuses connections to anything but loopback, and the resolver guard below
refuses to look up any other name, so not even a DNS query leaves. Python
subprocesses get the same fence from tests/loopback_guard/sitecustomize.py.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from replay import ReplayServer
from sitebuilder import copy_demo_blog

REPO = Path(__file__).resolve().parent.parent

# requests (tweepy) and httpx honour proxies from the environment; loopback must bypass them.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,::1"
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(_proxy, None)

# Subprocesses (engage, invoke, python -c) load tests/loopback_guard/sitecustomize.py first:
# the same fence as this process, without pytest-socket.
GUARD = REPO / "tests" / "loopback_guard"
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(GUARD), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
)

_real_getaddrinfo = socket.getaddrinfo
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "", None}


def _loopback_only_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name not in LOOPBACK_NAMES and not str(name).startswith("127."):
        raise socket.gaierror(socket.EAI_NONAME, f"tests do not resolve {name!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_only_getaddrinfo)


@pytest.fixture(autouse=True)
def _no_credentials_from_the_developer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the credentials they set themselves."""
    for name in (
        "MASTODON_ACCESS_TOKEN",
        "BLUESKY_HANDLE",
        "BLUESKY_APP_PASSWORD",
        "X_API_KEY",
        "X_API_SECRET",
        "X_ACCESS_TOKEN",
        "X_ACCESS_TOKEN_SECRET",
        "FACEBOOK_PAGE_ACCESS_TOKEN",
        "WEBMENTIONIO_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def demo_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private copy of the demo blog (content, theme, settings, tasks), as the cwd."""
    site = copy_demo_blog(tmp_path / "site")
    monkeypatch.chdir(site)
    monkeypatch.syspath_prepend(str(site))
    yield site


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    """Recorded answers on 127.0.0.1 (tests/replay.py): a test maps the routes it needs."""
    with ReplayServer() as server:
        yield server


@pytest.fixture
def _no_i18n_subsites_afterwards() -> Iterator[None]:
    """i18n_subsites stays connected to Pelican's signals with its module-level state, and
    would run in every later build of this process: disconnect it after the test."""
    yield
    module = sys.modules.get("pelican.plugins.i18n_subsites.i18n_subsites")
    if module is None:
        return
    from pelican.plugins import signals  # type: ignore[attr-defined]

    vars(module)["_MAIN_SETTINGS"] = None
    for name, handler in module._SIGNAL_HANDLERS_DB.items():
        getattr(signals, name).disconnect(handler)


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every time.sleep() of the test's own thread (not a stand-in's server threads).

    For "did not wait on the rate limit" checks without reading a clock.
    """
    import threading
    import time

    durations: list[float] = []
    real_sleep = time.sleep
    caller = threading.current_thread()

    def recording_sleep(seconds: float) -> None:
        if threading.current_thread() is caller:
            durations.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", recording_sleep)
    return durations
