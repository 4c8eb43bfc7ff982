"""What the network tests share: one stand-in per test module, adapters built for a test.

A test module names its stand-in once and binds the fixtures to the names pytest
then finds them by::

    server, standin = standin_fixtures(XStandIn)

``server`` runs for the whole module (stopping a server takes a moment); ``standin``
is that server, reset for each test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from replay import Answer, ReplayServer
from sitebuilder import TAKE, write_post, write_settings

from pelican.plugins.engage.errors import NetworkError, NotFound, Transient, Unsupported
from pelican.plugins.engage.networks import build_adapter
from pelican.plugins.engage.networks.base import Adapter, AdapterContext, OutgoingPost, RemoteRef
from pelican.plugins.engage.sandbox.base import Item, StandIn

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


def cleared(server: S, *also: str) -> S:
    """``server`` without the faults, requests and items of earlier tests, nor what its
    attributes named in ``also`` (lists such as ``received``) hold; the rest stays."""
    server.clear_faults()
    with server.lock:
        for name in ("requests", "items", *also):
            getattr(server, name).clear()
    return server


def cleared_fixtures(
    cls: type[StandIn], *, timeout_seconds: float, also: Iterable[str] = (), **settings: Any
) -> tuple[Any, Any]:
    """``server`` (see :func:`module_server`) and ``standin``: it :func:`cleared` (with
    ``also``) for each test, then each of ``settings`` set on it as an attribute."""
    also = tuple(also)

    @pytest.fixture(name="standin")
    def standin(server: StandIn) -> StandIn:
        cleared(server, *also)
        for name, value in settings.items():
            setattr(server, name, value)
        return server

    return module_server(cls, timeout_seconds=timeout_seconds), standin


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


def write_recent_post(
    content: Path, name: str = "hello", body: str = f"## My take\n\n{TAKE}", **meta: str
) -> datetime:
    """The post ``name`` in ``content`` (``meta`` as :func:`write_post` takes it), dated two
    hours ago: young enough for a sync to read its conversations. Returns that date."""
    posted = datetime.now(UTC) - timedelta(hours=2)
    write_post(content, name, body, Date=f"{posted:%Y-%m-%d %H:%M}", **meta)
    return posted


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
    posted = write_recent_post(site / "content")
    for key, value in standin.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(site)
    return site, networks[network], posted


def fails_transiently(
    standin: StandIn, kind: str, call: Callable[[], object], *, match: str | None = None
) -> None:
    """A ``kind`` fault on ``standin`` (see ``StandIn.fail_next``): ``call`` raises
    Transient (``match``)."""
    standin.fail_next(1, kind)
    with pytest.raises(Transient, match=match):
        call()


def gives_up_quickly(
    standin: StandIn, call: Callable[[], object], *, match: str | None = None
) -> None:
    """A "timeout" fault on ``standin`` (it stalls, then answers normally): ``call`` raises
    Transient (``match``), so the client gave up instead of waiting for the answer."""
    fails_transiently(standin, "timeout", call, match=match)


@dataclass(frozen=True)
class ErrorAnswer:
    """An error answer of a network, the error its adapter must raise for it, and a text
    that error's message must hold. ``ids=ErrorAnswer.label`` names parametrized cases."""

    answer: Answer
    error: type[NetworkError]
    text: str

    def label(self) -> str:
        return f"{self.error.__name__}-{self.text}"

    def check(
        self, replay: ReplayServer, path: str, call: Callable[[], object], secrets: Iterable[str]
    ) -> NetworkError:
        """``replay`` gives the answer to GET ``path``; ``call`` must then raise exactly
        ``error``, with ``text`` and none of ``secrets`` in its message. Returns it."""
        replay.add("GET", path, self.answer)
        with pytest.raises(NetworkError) as caught:
            call()
        assert type(caught.value) is self.error
        assert self.text in str(caught.value)
        assert not any(secret in str(caught.value) for secret in secrets)
        return caught.value


def errors_of_faults(
    standin: StandIn, call: Callable[[], object], kinds: Iterable[str], gone: str
) -> list[NetworkError]:
    """What ``call`` raises after each fault of ``kinds`` on ``standin`` (a NetworkError
    each), then once the item ``gone`` is deleted (NotFound): for checking what errors say."""
    errors: list[NetworkError] = []
    for kind in kinds:
        standin.fail_next(1, kind)
        with pytest.raises(NetworkError) as caught:
            call()
        errors.append(caught.value)
    standin.delete(gone)
    with pytest.raises(NotFound) as missing:
        call()
    errors.append(missing.value)
    return errors


def reply_chain(standin: StandIn, parent_id: str, *replies: tuple[str, str]) -> list[Item]:
    """``replies`` (author, text) on ``standin``, each answering the one before it, the
    first answering ``parent_id``."""
    chain: list[Item] = []
    for author, text in replies:
        chain.append(standin.add_reply(chain[-1].id if chain else parent_id, author, text))
    return chain


def refuses_to_post(adapter: Adapter, reply_to: RemoteRef, *, publish: str, reply: str) -> None:
    """``adapter`` only reads, and says so: publishing raises Unsupported matching
    ``publish``, answering ``reply_to`` raises Unsupported matching ``reply``."""
    assert not adapter.can_publish and not adapter.can_reply
    with pytest.raises(Unsupported, match=publish):
        adapter.publish(OutgoingPost(text="hi", idempotency_key="k"))
    with pytest.raises(Unsupported, match=reply):
        adapter.reply(reply_to, "thanks", "k")
