"""What the network tests share: one stand-in per test module, adapters built for a test.

A test module names its stand-in once and binds the fixtures to the names pytest
then finds them by::

    server, standin = standin_fixtures(XStandIn)

``server`` runs for the whole module (stopping a server takes a moment); ``standin``
is that server, reset for each test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sitebuilder import TAKE, write_post, write_settings

from pelican.plugins.engage.errors import Transient
from pelican.plugins.engage.networks import build_adapter
from pelican.plugins.engage.networks.base import Adapter, AdapterContext
from pelican.plugins.engage.sandbox.base import StandIn

# Texts other networks count their own way (a URL, a ZWJ family and flags, a combining
# mark, right-to-left text): a network that counts code points says ``len(text)``.
CODE_POINT_TEXTS = [
    "https://blog.example/posts/a-very-long-article-slug/?utm=1",
    "👨\u200d👩\u200d👧\u200d👦 🇫🇷",
    "e\u0301",
    "שלום עולם https://blog.example/p",
]

S = TypeVar("S", bound=StandIn)
A = TypeVar("A", bound=Adapter)


def module_server(cls: type[StandIn], *, timeout_seconds: float | None = None) -> Any:
    """The ``server`` fixture: one ``cls`` for the module.

    ``timeout_seconds`` shortens how long its "timeout" fault stalls (the adapters
    under test give up after half a second).
    """
    if timeout_seconds is not None:
        cls = type(f"Quick{cls.__name__}", (cls,), {"timeout_seconds": timeout_seconds})

    @pytest.fixture(scope="module", name="server")
    def server() -> Iterator[StandIn]:
        with cls() as running:
            yield running

    return server


def standin_fixtures(cls: type[StandIn]) -> tuple[Any, Any]:
    """``server`` (one ``cls`` for the module) and ``standin`` (it, reset for each test)."""

    @pytest.fixture(name="standin")
    def standin(server: StandIn) -> StandIn:
        server.reset()
        return server

    return module_server(cls), standin


def cleared(server: S) -> S:
    """``server`` without the faults, requests and items of earlier tests; the rest stays."""
    server.clear_faults()
    with server.lock:
        server.requests.clear()
        server.items.clear()
    return server


def adapter_of(kind: type[A], options: Mapping[str, Any], ctx: AdapterContext) -> A:
    """The adapter the registry builds for ``kind``'s network (it must be a ``kind``)."""
    built = build_adapter(kind.name, options, ctx)
    assert isinstance(built, kind)
    return built


def open_adapter(kind: type[A], options: Mapping[str, Any], ctx: AdapterContext) -> Iterator[A]:
    """For a fixture: ``yield from open_adapter(...)`` gives the adapter and closes it after."""
    with adapter_of(kind, options, ctx) as built:
        yield built


def standin_options(standin: StandIn, **options: Any) -> dict[str, Any]:
    """The stand-in's network options with a short timeout, and ``options`` over them."""
    return {**standin.network_options(), "timeout": 0.5, **options}


def one_post_site(
    root: Path, network: str, standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, dict[str, Any], datetime]:
    """A blog in ``root / "site"`` (the cwd) whose one post is two hours old; ``network``
    points at ``standin``, whose credentials are in the environment.

    Returns the site's folder, the network's options and when the post was published.
    """
    site = root / "site"
    networks = {network: {**standin.network_options(), "timeout": 2}}
    write_settings(site, ENGAGE_NETWORKS=networks, ENGAGE_STATE_DIR=str(root / "state"))
    posted = datetime.now(UTC) - timedelta(hours=2)
    write_post(site / "content", "hello", f"## My take\n\n{TAKE}", Date=f"{posted:%Y-%m-%d %H:%M}")
    for key, value in standin.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(site)
    return site, networks[network], posted


def gives_up_quickly(
    standin: StandIn, call: Callable[[], object], *, match: str | None = None
) -> None:
    """A "timeout" fault on ``standin`` (it stalls, then answers normally): ``call`` raises
    Transient (``match``), so the client gave up instead of waiting for the answer."""
    standin.fail_next(1, "timeout")
    with pytest.raises(Transient, match=match):
        call()
