"""`engage watch`: sync, post what falls due, rebuild and deploy after changes, until stopped.

The loop is :class:`..backfeed.watch.Watcher`; this module gives it its steps
(the store opened per step, so `engage reply` and friends can run between
them), the lock that keeps one watcher per database, the site's posts (read
once, again only when a content file or the settings change), the notifier
and the signals.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import click
from filelock import FileLock, Timeout

from .. import site
from ..backfeed import engine as backfeed
from ..backfeed.merge import iso
from ..backfeed.notify import AppriseNotifier, Notifier, new_comments_message
from ..backfeed.site_posts import SyncedPost, known_posts
from ..backfeed.watch import DIRTY, Steps, Watcher
from ..errors import EngageError
from ..networks import build_adapters
from ..plugin import BuildRecord
from ..settings import EngageSettings
from ..store import Store
from ..syndication.ledger import Ledger
from ..syndication.runner import Syndicator
from .common import clean, consoles, settings_option


class SitePosts:
    """The site's posts: what the last run learnt (backfeed.site_posts), read again only when
    a content or settings file changed; the settings follow."""

    def __init__(self, settings_file: Path) -> None:
        self.settings_file = settings_file
        self.pelican = site.load_settings(settings_file)
        self.engage = EngageSettings.from_pelican(self.pelican)

    def posts(self) -> Sequence[SyncedPost]:
        content = Path(str(self.pelican.get("PATH") or "content"))
        return known_posts(self.engage.db_path, content, self.settings_file, self._read)

    def _read(self) -> Sequence[SyncedPost]:
        self.pelican = site.load_settings(self.settings_file)
        record = site.read_site(self.pelican)
        self.remember(record)
        return record.posts

    def remember(self, record: BuildRecord) -> None:
        self.engage = record.settings
        with Store.open(self.engage.db_path) as store:
            site.remember_posts(record, store)
            site.remember_gate(record, store)


def make_steps(posts: SitePosts, notifier: Notifier | None, log: Callable[[str], None]) -> Steps:
    """The watcher's steps for one site (every store access opens and closes the store)."""

    def db() -> Store:
        return Store.open(posts.engage.db_path)

    def syndicate() -> int:
        engage = posts.engage
        with db() as store:
            adapters = build_adapters(engage.networks, state_dir=engage.state_dir, meter=store)
            try:
                return Syndicator(Ledger(store), adapters, check_urls=False).run().posted
            finally:
                for adapter in adapters.values():
                    adapter.close()

    def sync() -> backfeed.SyncReport:
        return backfeed.sync_posts(posts.engage, posts.posts())

    def rebuild() -> None:
        known = posts.posts()  # before the store is opened: learning them may open it
        with db() as store:
            site.save_conversations(store, posts.pelican, known)
        posts.remember(site.build_site(posts.pelican))
        if posts.engage.deploy:
            _, err = consoles()
            site.run_deploy(posts.engage.deploy, posts.engage.base_dir, err)

    def announce(comment_ids: list[str]) -> bool:
        if notifier is None:
            return False
        with db() as store:
            message = new_comments_message(store, comment_ids, os.environ)
        if message is None:
            return False
        if not notifier.send(message.title, message.body):
            log("the notification to the author could not be delivered")
            return False
        return True

    def dirty_since() -> datetime | None:
        with db() as store:
            row = store.sync_states.cursor(DIRTY)
        return datetime.fromisoformat(row["value"]) if row and row["value"] else None

    def set_dirty(when: datetime | None) -> None:
        with db() as store:
            if when is None:
                store.sync_states.forget_cursor(DIRTY)
            else:
                store.sync_states.set_cursor(DIRTY, iso(when), at=iso(datetime.now(UTC)))

    return Steps(syndicate, sync, rebuild, announce, dirty_since, set_dirty)


def run_watch(
    settings_file: Path,
    *,
    cycles: int | None = None,
    interval: float | None = None,
    notifier: Notifier | None = None,
    log: Callable[[str], None] | None = None,
) -> Watcher:
    """Watch the site of ``settings_file`` until a signal (or ``cycles``); returns the watcher."""
    # Lines quote networks' (and strangers' servers') words: no control character passes.
    say = log or (lambda line: click.echo(clean(line), err=True))
    posts = SitePosts(settings_file)
    engage = posts.engage
    if not engage.networks:
        raise EngageError("no network is configured (ENGAGE_NETWORKS is empty): nothing to watch")
    lock = FileLock(f"{engage.db_path}.watch.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise EngageError(
            f"another engage watch is running on {engage.db_path}; one is enough"
        ) from None
    try:
        if notifier is None and engage.watch.notify:
            notifier = AppriseNotifier(engage.watch.notify, os.environ)
        settings = engage.watch
        if interval is not None:  # the longest delay follows, unless it was set apart
            delay = settings.max_delay if settings.max_delay != settings.interval else interval
            settings = type(settings)(
                **{**vars(settings), "interval": interval, "max_delay": delay}
            )
        watcher = Watcher(make_steps(posts, notifier, say), settings, log=_stamped(say))
        with _signals(watcher):
            say(f"engage watch: every {settings.interval:g} s, {engage.db_path}, pid {os.getpid()}")
            watcher.run(cycles)
        say("engage watch: stopped")
        return watcher
    finally:
        lock.release()


def _stamped(say: Callable[[str], None]) -> Callable[[str], None]:
    return lambda line: say(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} {line}")


class _signals:
    """SIGTERM and SIGINT stop the watcher after the step under way (main thread only)."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher
        self.previous: dict[int, Any] = {}

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.watcher.stop.set()

    def __enter__(self) -> None:
        if sys.platform != "win32":
            for signum in (signal.SIGTERM, signal.SIGINT):
                try:
                    self.previous[signum] = signal.signal(signum, self._stop)
                except ValueError:  # not the main thread (an embedding test)
                    break

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


@click.command()
@settings_option("publishconf.py")
@click.option(
    "--interval", type=float, help="Seconds between cycles (default ENGAGE_WATCH_INTERVAL, 120)."
)
@click.option("--cycles", type=int, help="Stop after this many cycles (default: until stopped).")
def watch(settings_file: Path, interval: float | None, cycles: int | None) -> None:
    """Keep syncing, post what falls due, rebuild and deploy after changes.

    Each cycle posts what `engage syndicate` would, then syncs: one request
    per network asks what changed (notifications), the conversations named
    are read, and the slow safety net reads what is due. After a cycle that
    brought changes the next one comes sooner (ENGAGE_WATCH_DEBOUNCE, 30 s);
    the site is rebuilt and deployed (ENGAGE_DEPLOY) once the burst is over,
    or ENGAGE_WATCH_MAX_DELAY (one interval) after the first change. New comments are sent
    to ENGAGE_NOTIFY (Apprise URLs; needs `pip install apprise`), one message
    per cycle. One line per cycle on stderr says what it did and what it
    cost. SIGTERM or Ctrl-C finishes the step under way and exits 0. One
    watcher per database: a second one exits 2.

    Example:

    \b
        engage watch -s publishconf.py
        engage watch --interval 60 --cycles 30
    """
    run_watch(settings_file, cycles=cycles, interval=interval)
