"""Conversations rendered ahead of the build, by the commands.

A busy blog's build spends most of the plugin's time turning tens of thousands
of stored comments into nodes and markup, though few of them change between
two builds. The build may not write anything but its output, so the commands
that change conversations (`engage sync`, and `publish`, `watch` before they
build) render them and save the markup in the store; the build reuses it for
every article whose conversation has not changed since.

"Not changed" is exact: the store bumps an article's conversation version on
any insert, update or delete of its comments (a trigger, migration 7), and the
saved markup carries a token made of that version, the settings that shape a
page (time zone, avatars and their cached files, blocklist and moderation) and
this package's rendering code. The markup also remembers what it was rendered
for (article URL, SITEURL, syndication links): the build uses it only when the
page asks for exactly that, and renders the nodes itself otherwise (relative
URLs, a subsite, a translation group sharing one conversation).

A theme that walks ``article.engage.comments`` itself still gets every node:
the saved thread loads them on first use.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, SupportsIndex, overload

from markupsafe import Markup

from ..gate.cache import code_version
from ..model import Syndication
from ..networks import network_label
from ..store import Store
from ..syndication.ledger import Ledger
from .conversation import (
    CommentNode,
    Conversation,
    Thread,
    avatar_dir,
    avatar_files,
    load_conversations,
    shown_per_network,
)

if TYPE_CHECKING:
    from ..settings import EngageSettings

# The modules whose code decides the markup of a thread.
_RENDER_MODULES = ("conversation.py", "thread_markup.py", "moderation.py", "prerender.py")


@dataclass(frozen=True)
class Saved:
    """One article's thread as the store keeps it."""

    token: str
    args: str  # what it was rendered for: render_args()
    html: str
    shown: dict[str, int]  # comments shown per network (the "replies" of the counts)
    total: int


def site_token(store: Store, settings: EngageSettings) -> str:
    """What every article's markup depends on besides its own comments."""
    digest = hashlib.sha256(code_version(Path(__file__).parent, _RENDER_MODULES).encode())
    avatars = sorted(avatar_files(avatar_dir(settings))) if settings.avatars == "cache" else []
    shape = [settings.timezone, settings.avatars, list(settings.blocklist), avatars]
    digest.update(json.dumps(shape, default=str).encode())
    digest.update(json.dumps(sorted(store.comments.moderation())).encode())
    return digest.hexdigest()


def article_token(site: str, version: int) -> str:
    return f"{site}:{version}"


def render_args(article_url: str, siteurl: str, syndications: Iterable[Any]) -> str:
    links = [[str(s.label), str(s.url)] for s in syndications]
    return json.dumps([article_url, siteurl, links])


class SavedThread(Thread):
    """A thread whose markup was saved by a command: renders without its nodes when
    asked for what it was rendered for, and loads the nodes on first other use."""

    def __init__(self, saved: Saved, load: Callable[[], Thread]) -> None:
        super().__init__()
        self._saved = saved
        self._load: Callable[[], Thread] | None = load

    def _nodes(self) -> None:
        if self._load is not None:
            load, self._load = self._load, None
            list.extend(self, load())

    def render(
        self, article_url: str, siteurl: str = "", syndications: Iterable[Any] = ()
    ) -> Markup:
        if self._load is not None and render_args(article_url, siteurl, syndications) == (
            self._saved.args
        ):
            return Markup(self._saved.html)
        self._nodes()
        return super().render(article_url, siteurl, syndications)

    def total(self) -> int:
        return self._saved.total if self._load is not None else super().total()

    def __bool__(self) -> bool:
        return self._saved.total > 0 if self._load is not None else list.__len__(self) > 0

    def __len__(self) -> int:
        self._nodes()
        return list.__len__(self)

    def __iter__(self) -> Iterator[CommentNode]:
        self._nodes()
        return list.__iter__(self)

    @overload
    def __getitem__(self, index: SupportsIndex) -> CommentNode: ...
    @overload
    def __getitem__(self, index: slice) -> list[CommentNode]: ...
    def __getitem__(self, index: SupportsIndex | slice) -> CommentNode | list[CommentNode]:
        self._nodes()
        return list.__getitem__(self, index)


def syndication_links(store: Store) -> dict[str, list[Syndication]]:
    """Each article's syndicated copies with a web address, in the ledger's order."""
    links: dict[str, list[Syndication]] = {}
    for entry in Ledger(store).syndications():
        # Syndication keeps http(s) URLs only (model.web_url): others stay off the page.
        link = Syndication(entry.network, network_label(entry.network), entry.remote_url or "")
        if link.url:
            links.setdefault(entry.article, []).append(link)
    return links


# -- the build: saved markup where it is current, nodes for the rest ----------------------


def conversations_for_build(store: Store, settings: EngageSettings) -> dict[str, Conversation]:
    """What :func:`load_conversations` gives, with the saved markup of every article whose
    conversation is unchanged standing in for its nodes (loaded only if asked for)."""
    site = site_token(store, settings)
    versions = store.rendered.versions()
    saved: dict[str, Saved] = {}
    for article, token, args, html, shown, total in store.rendered.saved():
        if token == article_token(site, versions.get(article, 0)):
            saved[article] = Saved(token, args, html, json.loads(shown), total)
    conversations = load_conversations(store, settings, skip={a: s.shown for a, s in saved.items()})
    nodes = _NodesLater(store.path, settings)
    for article, found in saved.items():
        if found.total:
            conversation = conversations.setdefault(article, Conversation())
            conversation.comments = SavedThread(found, functools.partial(nodes.thread, article))
    return conversations


class _NodesLater:
    """Every conversation's nodes, loaded once, when a theme first walks a saved thread."""

    def __init__(self, path: Path, settings: EngageSettings) -> None:
        self._path, self._settings = path, settings
        self._loaded: dict[str, Conversation] | None = None

    def thread(self, article: str) -> Thread:
        if self._loaded is None:
            store = Store.open_readonly(self._path)
            self._loaded = {}
            if store is not None:
                with store:
                    self._loaded = load_conversations(store, self._settings)
        found = self._loaded.get(article)
        return found.comments if found else Thread()


# -- the commands: render what changed ---------------------------------------------------


def save_rendered(
    store: Store,
    settings: EngageSettings,
    siteurl: str,
    pages: Iterable[tuple[str, str]],
    *,
    whole_site: bool = True,
) -> int:
    """Render and save the conversation of each ``(article key, article URL)`` whose
    saved markup is missing or stale; returns how many were rendered.

    With ``whole_site`` the saved threads of articles not in ``pages`` are dropped.
    """
    urls = dict(pages)
    site = site_token(store, settings)
    versions = store.rendered.versions()
    stamps = store.rendered.stamps()
    links = syndication_links(store)
    wanted: dict[str, tuple[str, str]] = {}
    for article, url in urls.items():
        token = article_token(site, versions.get(article, 0))
        stamp = (token, render_args(url, siteurl, links.get(article, [])))
        if stamps.get(article) != stamp:
            wanted[article] = stamp
    drop = {a for a in stamps if a not in urls} if whole_site else set()
    if not wanted and not drop:
        return 0
    # Only the wanted articles' nodes: the others are skipped like a build skips them.
    current: dict[str, dict[str, int]] = {a: {} for a in stamps if a not in wanted}
    conversations = load_conversations(store, settings, skip=current)
    rows = []
    for article, (token, args) in wanted.items():
        thread = conversations.get(article, Conversation()).comments
        if not thread:
            drop.add(article)
            continue
        html = thread.render(urls[article], siteurl, links.get(article, []))
        shown = json.dumps(shown_per_network(thread))
        rows.append((article, token, args, str(html), shown, thread.total()))
    store.rendered.save(rows, drop=drop)
    return len(rows)
