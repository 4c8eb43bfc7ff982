"""`engage watch`: a reply arrives → the page is rebuilt and the author told once; SIGTERM in
the middle of a cycle (a real subprocess) → a clean exit, nothing lost, nothing twice; the
loop's debounce with scripted steps; one watcher per database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from filelock import FileLock
from sitebuilder import TAKE, TAKES, write_post, write_settings

from pelican.plugins.engage import site
from pelican.plugins.engage.backfeed.notify import MemoryNotifier, new_comments_message
from pelican.plugins.engage.backfeed.report import SyncReport
from pelican.plugins.engage.backfeed.watch import Steps, Watcher
from pelican.plugins.engage.cli.watch import run_watch
from pelican.plugins.engage.errors import EngageError
from pelican.plugins.engage.networks import build_adapter
from pelican.plugins.engage.networks.base import AdapterContext, OutgoingPost
from pelican.plugins.engage.sandbox.mastodon import MastodonStandIn
from pelican.plugins.engage.settings import WatchSettings
from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication.ledger import Entry, Ledger

ENGAGE = str(Path(sys.executable).with_name("engage"))
SITEURL = "https://blog.example.net"


@pytest.fixture
def mastodon() -> Iterator[MastodonStandIn]:
    with MastodonStandIn() as server:
        yield server


def make_site(root: Path, server: MastodonStandIn, **extra: object) -> Path:
    """A two-post blog; "hello" is already on Mastodon (its first post recorded in the ledger)."""
    conf = write_settings(
        root,
        SITEURL=SITEURL,
        ENGAGE_NETWORKS={"mastodon": {**server.network_options(), "timeout": 5}},
        ENGAGE_STATE_DIR=str(root / "state"),
        ENGAGE_WATCH_INTERVAL=1,
        ENGAGE_WATCH_DEBOUNCE=0,
        **extra,
    )
    posted = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    write_post(root / "content", "hello", f"## My take\n\n{TAKE}", Date=posted)
    write_post(root / "content", "other", f"## My take\n\n{TAKES[1]}", Date=posted)
    when = datetime.now(UTC) - timedelta(hours=2)
    adapter = build_adapter(
        "mastodon", server.network_options(), AdapterContext(env=server.environment())
    )
    ref = adapter.publish(OutgoingPost("My take on quiet servers", "hello-0", created_at=when))
    with Store.open(root / "engage.sqlite3") as store:
        ledger = Ledger(store)
        entry = ledger.add(Entry("content/hello.md", "mastodon", 0, "t", None, when, "w-0", when))
        ledger.mark_posted(entry, ref)
    return conf


def seconds(server: MastodonStandIn) -> int:
    """How many copies of the second post the server holds."""
    return sum(i.text.startswith("Second take") for i in server.posts_by("author"))


def page(root: Path, slug: str = "hello") -> str:
    html = (root / "output" / f"{slug}.html").read_text(encoding="utf-8")
    return BeautifulSoup(html, "html.parser").get_text(" ")


def test_a_reply_is_on_the_rebuilt_page_and_the_author_told_once(
    tmp_path: Path, mastodon: MastodonStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "blog"
    conf = make_site(root, mastodon)
    for key, value in mastodon.environment().items():
        monkeypatch.setenv(key, value)
    site.build_site(site.load_settings(conf))
    notifier = MemoryNotifier()
    lines: list[str] = []
    first = run_watch(conf, cycles=1, notifier=notifier, log=lines.append)
    assert not first.cycles[0].changed and notifier.messages == []

    mastodon.add_reply(mastodon.posts_by("author")[0].id, "bob", "Bob says: what a take")
    watcher = run_watch(conf, cycles=3, notifier=notifier, log=lines.append)
    changed, quiet = watcher.cycles[0], watcher.cycles[1]
    assert changed.new == 1 and changed.changed and not changed.rebuilt
    assert quiet.rebuilt and not quiet.changed  # the burst is over: one rebuild
    assert not watcher.cycles[2].rebuilt
    assert "Bob says: what a take" in page(root)
    assert len(notifier.messages) == 1
    message = notifier.messages[0]
    assert "Bob Marsh on Mastodon" in message.body and "Hello" in message.body
    assert mastodon.token_for("author") not in message.title + message.body
    assert any("requests 2 (mastodon 2)" in line for line in lines), lines  # one per cycle
    assert any("requests 1 (mastodon 1)" in line for line in lines), lines


def test_no_token_ever_reaches_a_message(tmp_path: Path) -> None:
    with Store.open(tmp_path / "e.sqlite3") as store:
        store.comments.save(
            {
                "id": "mastodon:1",
                "network": "mastodon",
                "remote_id": "1",
                "article": "content/a.md",
                "parent_id": None,
                "author_name": "Mallory s3cr3t-t0ken",
                "author_handle": "@m",
                "author_url": "",
                "avatar_url": None,
                "html": "<p>x</p>",
                "url": "https://social.example/@m/1",
                "kind": "reply",
                "is_own": 0,
                "likes": 0,
                "reposts": 0,
                "created_at": "2026-01-01T00:00:00+00:00",
                "edited_at": None,
                "moderated": 0,
                "remote_extra": "{}",
            },
            seen="2026-01-01T00:00:00+00:00",
        )
        message = new_comments_message(store, ["mastodon:1"], {"X_ACCESS_TOKEN": "s3cr3t-t0ken"})
    assert message is not None and "s3cr3t-t0ken" not in message.body
    assert "Mallory" in message.body


class Scripted:
    """Steps whose sync reports what the test scripts, and which count the rebuilds."""

    def __init__(self, changes: list[bool]) -> None:
        self.changes = iter(changes)
        self.rebuilds = 0
        self.dirty: datetime | None = None
        self.announced: list[list[str]] = []

    def sync(self) -> SyncReport:
        report = SyncReport()
        if next(self.changes, False):
            net = report.network("mastodon")
            net.new, net.requests, net.new_ids = 1, 2, ["mastodon:x"]
        return report

    def announce(self, ids: list[str]) -> bool:
        self.announced.append(ids)
        return True

    def steps(self) -> Steps:
        def rebuild() -> None:
            self.rebuilds += 1

        def set_dirty(when: datetime | None) -> None:
            self.dirty = when

        return Steps(
            syndicate=lambda: 0,
            sync=self.sync,
            rebuild=rebuild,
            announce=self.announce,
            dirty_since=lambda: self.dirty,
            set_dirty=set_dirty,
        )


def test_a_burst_of_changes_is_rebuilt_once_when_it_ends() -> None:
    script = Scripted([True, True, True, False, False])
    watcher = Watcher(script.steps(), WatchSettings(interval=0, debounce=0), log=lambda _: None)
    watcher.run(cycles=5)
    assert script.rebuilds == 1 and [c.rebuilt for c in watcher.cycles] == [
        False, False, False, True, False,
    ]  # fmt: skip
    assert len(script.announced) == 3  # one message per cycle that brought comments


def test_a_long_burst_is_rebuilt_after_the_longest_delay() -> None:
    script = Scripted([True] * 6)
    clock = iter(datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=i) for i in range(100))
    settings = WatchSettings(interval=0, debounce=0, max_delay=150)
    watcher = Watcher(script.steps(), settings, log=lambda _: None, clock=lambda: next(clock))
    watcher.run(cycles=6)
    assert 1 <= script.rebuilds < 6


def test_a_stop_during_a_step_ends_the_loop_after_that_step() -> None:
    script = Scripted([True, True])
    holder: dict[str, Watcher] = {}

    def sync() -> SyncReport:
        report = script.sync()
        holder["w"].stop.set()  # SIGTERM arrives while the sync step runs
        return report

    steps = script.steps()
    steps.sync = sync
    watcher = Watcher(steps, WatchSettings(interval=0, debounce=0), log=lambda _: None)
    holder["w"] = watcher
    watcher.run()
    assert len(watcher.cycles) == 1 and watcher.cycles[0].stopped
    assert watcher.cycles[0].new == 1 and script.dirty is not None  # merged, marked for later
    assert script.rebuilds == 0  # no step after the one under way


def test_one_watcher_per_database(tmp_path: Path, mastodon: MastodonStandIn) -> None:
    conf = make_site(tmp_path / "blog", mastodon)
    lock = FileLock(f"{tmp_path / 'blog' / 'engage.sqlite3'}.watch.lock")
    with lock, pytest.raises(EngageError, match="another engage watch"):
        run_watch(conf, cycles=1)


def test_sigterm_in_the_middle_of_a_cycle_loses_nothing_and_posts_nothing_twice(
    tmp_path: Path, mastodon: MastodonStandIn
) -> None:
    root = tmp_path / "blog"
    conf = make_site(root, mastodon)
    now = datetime.now(UTC) - timedelta(minutes=1)
    with Store.open(root / "engage.sqlite3") as store:  # due now: the watch posts it
        Ledger(store).add(Entry("content/other.md", "mastodon", 0, "Second take",
                                f"{SITEURL}/other.html", now, "w-other", now))  # fmt: skip
    mastodon.add_reply(mastodon.posts_by("author")[0].id, "bob", "Bob, before the signal")
    mastodon.response_delay = 1.5  # every answer is held: the signal lands mid-step
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(mastodon.environment(), NO_PROXY="127.0.0.1", COLUMNS="200")
    child = subprocess.Popen(
        [ENGAGE, "watch", "-s", str(conf)],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(1200):  # 60 s at most
            if len(mastodon.calls("POST", r"^/api/v1/statuses$")) >= 2:
                break
            assert child.poll() is None, "the watch ended before it posted"
            time.sleep(0.05)
        else:
            pytest.fail("the watch never posted")
        child.send_signal(signal.SIGTERM)  # the post is on the server, its answer on the way
        output, _ = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, output
    assert "stopping" in output and "engage watch: stopped" in output, output
    assert seconds(mastodon) == 1
    with Store.open(root / "engage.sqlite3") as store:
        entry = Ledger(store).get("content/other.md", "mastodon", 0)
        assert entry is not None and entry.state == "posted"  # the answer was not lost

    mastodon.response_delay = 0
    notifier = MemoryNotifier()
    os.environ.update(mastodon.environment())
    try:
        watcher = run_watch(conf, cycles=3, notifier=notifier, log=lambda _: None)
    finally:
        for key in mastodon.environment():
            os.environ.pop(key, None)
    assert seconds(mastodon) == 1
    assert sum(c.posted for c in watcher.cycles) == 0  # nothing posted twice
    assert "Bob, before the signal" in page(root)
    assert len(notifier.messages) == 1
