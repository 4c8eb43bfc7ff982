"""Backfeed at unit level: the merge rules on a real SQLite store, the polling schedule, and
the engine's concurrency and rate-limit handling with scripted adapters."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from local_http import serving

from pelican.plugins.engage.backfeed import avatars
from pelican.plugins.engage.backfeed.conversation import load_conversations
from pelican.plugins.engage.backfeed.engine import Job, Syncer, Target, interval_for, plan
from pelican.plugins.engage.backfeed.merge import Moderation, SyncState, ThreadKey, Threads
from pelican.plugins.engage.errors import AuthFailed, RateLimited, Transient
from pelican.plugins.engage.model import Author, Counts, RemoteComment, RemoteRef, ThreadSnapshot
from pelican.plugins.engage.networks.base import Adapter, AdapterContext
from pelican.plugins.engage.settings import EngageSettings
from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication.ledger import Entry, Ledger

ARTICLE = "content/post.md"
POST = "post-1"
KEY = ThreadKey(ARTICLE, "mastodon", POST)
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "engage.sqlite3") as opened:
        yield opened


def remote(
    rid: str,
    parent: str = POST,
    who: str = "bob",
    html: str = "<p>Nice post!</p>",
    *,
    network: str = "mastodon",
    minute: int = 0,
    own: bool = False,
    url: str | None = None,
    **extra: Any,
) -> RemoteComment:
    return RemoteComment(
        ref=RemoteRef(network, rid, url or f"https://social.example/@{who}/{rid}"),
        parent_id=parent,
        author=Author(
            name=who.title(),
            handle=f"@{who}@social.example",
            url=f"https://social.example/@{who}",
            avatar=f"https://social.example/avatars/{who}.png",
        ),
        html=html,
        created_at=T0 + timedelta(minutes=minute),
        is_own=own,
        **extra,
    )


def snapshot(*comments: RemoteComment, complete: bool = True, **counts: int) -> ThreadSnapshot:
    return ThreadSnapshot(
        post=RemoteRef("mastodon", POST, "https://social.example/@ada/post-1"),
        counts=Counts(**counts),
        comments=list(comments),
        complete=complete,
    )


def rows(store: Store) -> dict[str, Any]:
    return {r["id"]: r for r in store.conn.execute("SELECT * FROM comment")}


def visible(store: Store) -> set[str]:
    return {
        r["id"]
        for r in store.conn.execute("SELECT id FROM comment WHERE removed = 0 AND moderated = 0")
    }


def merge(store: Store, snap: ThreadSnapshot, **kw: Any) -> Any:
    threads = Threads(store, **kw)
    return threads.merge(KEY, snap, full=snap.complete, now=T0 + timedelta(hours=1))


# -- merging -------------------------------------------------------------------------------


def test_replies_are_stored_threaded_with_stable_ids(store: Store) -> None:
    stats = merge(store, snapshot(remote("1"), remote("2", "1", "carol"), remote("3", "2", "dave")))
    assert stats.new == 3
    stored = rows(store)
    assert stored["mastodon:1"]["parent_id"] is None  # answers the post: under the article
    assert stored["mastodon:2"]["parent_id"] == "mastodon:1"
    assert stored["mastodon:3"]["parent_id"] == "mastodon:2"
    assert stored["mastodon:1"]["article"] == ARTICLE
    tree = load_conversations(store)[ARTICLE].comments
    assert [n.id for n in tree] == ["mastodon:1"]
    assert [c.id for c in tree[0].children] == ["mastodon:2"]
    assert [c.id for c in tree[0].children[0].children] == ["mastodon:3"]


def test_html_is_sanitized_before_it_is_stored(store: Store) -> None:
    hostile = remote(
        "1",
        html='<p onclick="x()">hi<script>alert(1)</script><a href="javascript:x">l</a></p>',
        url="javascript:alert(1)",
    )
    merge(store, snapshot(hostile))
    row = rows(store)["mastodon:1"]
    assert row["html"] == '<p>hi<a rel="nofollow ugc noopener">l</a></p>'
    assert row["url"] == ""  # a permalink we would print must be http(s)


def test_our_own_follow_ups_are_not_comments_and_replies_to_them_hang_under_the_article(
    store: Store,
) -> None:
    ledger = Ledger(store)
    for seq, rid in ((0, POST), (1, "followup-1")):
        entry = ledger.add(
            Entry(ARTICLE, "mastodon", seq, "t", None, T0, f"k{seq}", T0, state="queued")
        )
        ledger.mark_posted(entry, RemoteRef("mastodon", rid, f"https://social.example/{rid}"))
    follow_up = remote("followup-1", who="ada", own=True)
    answer = remote("7", "followup-1", "bob")
    merge(store, snapshot(follow_up, answer))
    assert set(rows(store)) == {"mastodon:7"}
    assert rows(store)["mastodon:7"]["parent_id"] is None


def test_an_edit_updates_the_comment_in_place(store: Store) -> None:
    merge(store, snapshot(remote("1", html="<p>first</p>")))
    edited = remote("1", html="<p>second thoughts</p>", edited_at=T0 + timedelta(minutes=5))
    stats = merge(store, snapshot(edited))
    assert (stats.new, stats.updated) == (0, 1)
    row = rows(store)["mastodon:1"]
    assert row["html"] == "<p>second thoughts</p>"
    assert row["edited_at"] == (T0 + timedelta(minutes=5)).isoformat()
    assert len(rows(store)) == 1


def test_a_comment_goes_only_after_two_complete_reads_without_it(store: Store) -> None:
    merge(store, snapshot(remote("1"), remote("2", "1")))
    first = merge(store, snapshot(remote("1")))
    assert first.removed == 0 and visible(store) == {"mastodon:1", "mastodon:2"}
    assert rows(store)["mastodon:2"]["missing"] == 1
    second = merge(store, snapshot(remote("1")))
    assert second.removed == 1 and visible(store) == {"mastodon:1"}


def test_a_comment_back_after_one_miss_starts_counting_again(store: Store) -> None:
    merge(store, snapshot(remote("1")))
    merge(store, snapshot())  # missing once (a server hiccup)
    merge(store, snapshot(remote("1")))  # back
    merge(store, snapshot())  # missing once again: not twice in a row
    assert visible(store) == {"mastodon:1"}


def test_incomplete_reads_and_failed_fetches_remove_nothing(store: Store) -> None:
    merge(store, snapshot(remote("1"), remote("2")))
    threads = Threads(store)
    for _ in range(3):
        threads.merge(KEY, snapshot(remote("1"), complete=False), full=False)
        threads.record_failure(KEY, "mastodon: timed out")
    assert visible(store) == {"mastodon:1", "mastodon:2"}
    assert rows(store)["mastodon:2"]["missing"] == 0


def test_a_removed_comment_that_comes_back_is_restored(store: Store) -> None:
    merge(store, snapshot(remote("1")))
    merge(store, snapshot())
    merge(store, snapshot())
    assert visible(store) == set()
    stats = merge(store, snapshot(remote("1")))
    assert stats.updated == 1 and visible(store) == {"mastodon:1"}


def test_hide_is_permanent(store: Store) -> None:
    merge(store, snapshot(remote("1"), remote("2", "1", "carol")))
    threads = Threads(store)
    assert threads.hide("mastodon:1") == 1
    edited = remote("1", html="<p>edited to look harmless</p>")
    for _ in range(3):
        merge(store, snapshot(edited, remote("2", "1", "carol")))
    assert rows(store)["mastodon:1"]["moderated"] == 1
    assert visible(store) == {"mastodon:2"}
    # A reply to a hidden comment is not shown on its own either.
    assert ARTICLE not in load_conversations(store)


def test_hide_author_blocks_their_later_comments_on_that_network(store: Store) -> None:
    merge(store, snapshot(remote("1", who="troll")))
    Threads(store).hide("mastodon:1", author=True)
    stats = merge(store, snapshot(remote("1", who="troll"), remote("9", who="troll")))
    assert stats.new == 0 and stats.moderated == 1
    assert visible(store) == set()


def test_hide_refuses_an_unknown_id(store: Store) -> None:
    with pytest.raises(Exception, match="there is no comment 'mastodon:nope'"):
        Threads(store).hide("mastodon:nope")


BLOCK_ENTRIES = [
    "@troll@social.example",
    "troll@social.example",
    "mastodon:@troll@social.example",
    "social.example",
    "https://social.example/",
]


@pytest.mark.parametrize("entry", BLOCK_ENTRIES)
def test_blocklist_entries_hide_accounts_and_domains(store: Store, entry: str) -> None:
    stats = merge(store, snapshot(remote("1", who="troll")), blocklist=[entry])
    assert stats.moderated == 1 and visible(store) == set()


def test_blocklist_applies_to_comments_stored_before_and_survives_unblocking(
    store: Store,
) -> None:
    merge(store, snapshot(remote("1", who="troll"), remote("2", who="bob")))
    threads = Threads(store, blocklist=["@troll@social.example"])
    assert threads.apply_moderation() == 1
    merge(store, snapshot(remote("1", who="troll"), remote("2", who="bob")))  # no blocklist now
    assert visible(store) == {"mastodon:2"}


def test_blocklist_never_hides_the_authors_own_answers(store: Store) -> None:
    answer = remote("1", who="ada", own=True)
    merge(store, snapshot(answer), blocklist=["social.example"])
    assert visible(store) == {"mastodon:1"}


def test_moderation_matches_domains_with_subdomains_only() -> None:
    mod = Moderation()
    mod.block("spam.example")
    assert mod.hides("w:1", "webmention", "x", "https://blog.spam.example/me", "")
    assert not mod.hides("w:1", "webmention", "x", "https://notspam.example/me", "")
    mod.block("bluesky:troll.bsky.social")
    assert mod.hides("b:1", "bluesky", "@troll.bsky.social", "", "")
    assert not mod.hides("m:1", "mastodon", "@troll.bsky.social", "", "")


def test_answers_from_the_blog_itself_are_the_authors(store: Store) -> None:
    """A webmention whose source page is on the blog's host is the author's; an author
    page (h-card url) on that host is only a claim, on any network (issue 11)."""
    source = "https://blog.example.net/reply.html"
    mention = RemoteComment(
        ref=RemoteRef("webmention", "42", source, {"source": source}),
        parent_id=POST,
        author=Author("Ada", "blog.example.net", "https://blog.example.net/"),
        html="<p>Thanks!</p>",
        created_at=T0,
    )
    claim = RemoteComment(
        ref=RemoteRef("mastodon", "43", "https://social.example/@mallory/43"),
        parent_id=POST,
        author=Author("Ada (really)", "mallory", "https://blog.example.net/"),
        html="<p>I am the author</p>",
        created_at=T0,
    )
    threads = Threads(store, site_url="https://blog.example.net")
    now = T0 + timedelta(hours=1)
    web = ThreadKey(ARTICLE, "webmention", POST)
    threads.merge(web, snapshot(mention), full=True, now=now)
    threads.merge(KEY, snapshot(claim), full=True, now=now)
    assert rows(store)["webmention:42"]["is_own"] == 1
    assert rows(store)["mastodon:43"]["is_own"] == 0


def test_counts_come_from_the_network_and_replies_from_what_shows(store: Store) -> None:
    stats = merge(store, snapshot(remote("1"), remote("2"), likes=5, reposts=2, replies=9))
    assert stats.counts_changed == 1
    row = store.conn.execute("SELECT * FROM engagement").fetchone()
    assert (row["likes"], row["reposts"], row["replies"]) == (5, 2, 2)
    again = merge(store, snapshot(remote("1"), remote("2"), likes=5, reposts=2, replies=9))
    assert not again.changed


def test_sync_state_records_success_change_and_failure(store: Store) -> None:
    threads = Threads(store)
    threads.merge(KEY, snapshot(remote("1", minute=3)), full=True, now=T0 + timedelta(days=2))
    state = threads.states()[KEY]
    # A first read finds old comments, not activity: the change is dated by the newest one.
    assert state.last_change == T0 + timedelta(minutes=3)
    assert state.last_full == state.last_success == T0 + timedelta(days=2)
    later = T0 + timedelta(days=3)
    threads.merge(KEY, snapshot(remote("1", minute=3), remote("2")), full=False, now=later)
    state = threads.states()[KEY]
    assert state.last_change == later and state.last_full == T0 + timedelta(days=2)
    threads.record_failure(KEY, "boom", T0 + timedelta(days=4))
    state = threads.states()[KEY]
    assert state.last_error == "boom" and state.last_success == later


# -- the schedule ---------------------------------------------------------------------------


def target(age: timedelta, network: str = "mastodon", article: str = ARTICLE) -> Target:
    ref = RemoteRef(network, POST, "")
    return Target(ThreadKey(article, network, POST), ref, "post", NOW - age)


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CUTOFF = timedelta(days=90)


def state(
    t: Target,
    *,
    success: timedelta | None,
    attempt: timedelta | None = None,
    full: timedelta | None = None,
    change: timedelta | None = None,
    cursor: str | None = None,
) -> dict[ThreadKey, SyncState]:
    def ago(d: timedelta | None) -> datetime | None:
        return None if d is None else NOW - d

    return {
        t.key: SyncState(
            t.key,
            last_attempt=ago(attempt if attempt is not None else success),
            last_success=ago(success),
            last_full=ago(full if full is not None else success),
            last_change=ago(change),
            cursor=cursor,
            last_error=None,
        )
    }


def due(t: Target, states: dict[ThreadKey, SyncState], **kw: Any) -> bool:
    return bool(plan([t], states, now=NOW, cutoff=CUTOFF, **kw).jobs)


H, D = timedelta(hours=1), timedelta(days=1)


@pytest.mark.parametrize(
    ("age", "since_last", "expected"),
    [
        (3 * H, timedelta(minutes=1), True),  # first day: every run
        (3 * D, 30 * timedelta(minutes=1), False),  # first week: hourly
        (3 * D, 2 * H, True),
        (10 * D, 20 * H, False),  # first month: daily
        (10 * D, 25 * H, True),
        (60 * D, 6 * D, False),  # until the cut-off: weekly
        (60 * D, 8 * D, True),
        (100 * D, 300 * D, False),  # past the cut-off: never
    ],
)
def test_polling_decays_with_age(age: timedelta, since_last: timedelta, expected: bool) -> None:
    t = target(age)
    assert due(t, state(t, success=since_last)) is expected


def test_never_read_posts_are_due_unless_past_the_cut_off() -> None:
    assert due(target(60 * D), {})
    result = plan([target(100 * D)], {}, now=NOW, cutoff=CUTOFF)
    assert not result.jobs and result.retired == {"mastodon": 1}


def test_all_and_article_force_a_full_read_past_the_cut_off() -> None:
    t = target(400 * D)
    jobs = plan([t], state(t, success=H, cursor="99"), now=NOW, cutoff=CUTOFF, force=True).jobs
    assert [j.cursor for j in jobs] == [None]


def test_recent_activity_makes_an_old_post_young_again() -> None:
    t = target(40 * D)
    assert not due(t, state(t, success=2 * D))
    assert due(t, state(t, success=2 * D, change=3 * H))  # a reply three hours ago
    newest = {(ARTICLE, "mastodon"): NOW - 2 * H}
    assert due(t, state(t, success=2 * H), newest=newest)


def test_a_comment_missing_once_is_checked_on_the_next_run() -> None:
    t = target(60 * D)
    states = state(t, success=H, full=H, cursor="5")
    jobs = plan([t], states, now=NOW, cutoff=CUTOFF, unconfirmed={(ARTICLE, "mastodon")}).jobs
    assert [j.full for j in jobs] == [True]


def test_failed_reads_are_retried_within_the_hour() -> None:
    t = target(60 * D)
    assert not due(t, state(t, success=2 * D, attempt=30 * timedelta(minutes=1)))
    assert due(t, state(t, success=2 * D, attempt=61 * timedelta(minutes=1)))


def test_cursor_reads_are_incremental_with_a_full_read_every_day() -> None:
    t = target(2 * H)
    (job,) = plan([t], state(t, success=H, full=5 * H, cursor="41"), now=NOW, cutoff=CUTOFF).jobs
    assert job.cursor == "41" and not job.full
    (job,) = plan([t], state(t, success=H, full=25 * H, cursor="41"), now=NOW, cutoff=CUTOFF).jobs
    assert job.full


def test_most_recently_active_conversations_go_first() -> None:
    old, young = target(20 * D, article="a.md"), target(H, article="b.md")
    jobs = plan([old, young], {}, now=NOW, cutoff=CUTOFF).jobs
    assert [j.target.key.article for j in jobs] == ["b.md", "a.md"]


def test_interval_table() -> None:
    assert interval_for(H) == timedelta(0)
    assert interval_for(2 * D) == H
    assert interval_for(20 * D) == D
    assert interval_for(80 * D) == 7 * D


# -- the engine -----------------------------------------------------------------------------


class Scripted(Adapter):
    """An adapter whose fetch_thread runs a script: sleep, raise, or answer."""

    name: ClassVar[str] = "mastodon"
    label: ClassVar[str] = "Mastodon"

    def __init__(
        self, network: str, script: Callable[[RemoteRef, int], ThreadSnapshot] | None = None
    ) -> None:
        super().__init__({"base_url": "http://127.0.0.1:9"}, AdapterContext(env={}))
        self.network = network
        self.script = script
        self.calls: list[tuple[str, float]] = []
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def max_length(self) -> int:
        return 500

    def measure(self, text: str) -> int:
        return len(text)

    def fetch_thread(self, post: RemoteRef, cursor: str | None = None) -> ThreadSnapshot:
        with self._lock:
            self.calls.append((post.id, time.monotonic()))
            number = len(self.calls)
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            if self.script is not None:
                return self.script(post, number)
            time.sleep(0.02)
            return ThreadSnapshot(post=post, counts=Counts(), comments=[])
        finally:
            with self._lock:
                self.active -= 1


def jobs_for(network: str, count: int) -> list[Job]:
    return [
        Job(
            Target(
                ThreadKey(f"content/{i}.md", network, f"{network}-{i}"),
                RemoteRef(network, f"{network}-{i}", ""),
                f"post-{i}",
                NOW,
            ),
            None,
        )
        for i in range(count)
    ]


def test_reads_run_concurrently_within_the_bound_and_the_first_read_alone(store: Store) -> None:
    adapter = Scripted("mastodon")
    report = Syncer(Threads(store), {"mastodon": adapter}, workers=3).run(jobs_for("mastodon", 24))
    net = report.networks["mastodon"]
    assert (net.due, net.fetched, net.errors) == (24, 24, 0)
    assert adapter.peak == 3  # bounded, and really concurrent
    first, second = adapter.calls[0][1], adapter.calls[1][1]
    assert second - first >= 0.015  # the first read finished before any other began
    assert report.ok


def test_serial_mode_reads_one_at_a_time_across_networks(store: Store) -> None:
    a, b = Scripted("mastodon"), Scripted("bluesky")
    Syncer(Threads(store), {"mastodon": a, "bluesky": b}, serial=True).run(
        jobs_for("mastodon", 4) + jobs_for("bluesky", 4)
    )
    calls = sorted(a.calls + b.calls, key=lambda c: c[1])
    assert all(later[1] - earlier[1] >= 0.015 for earlier, later in itertools.pairwise(calls))


def test_a_short_rate_limit_pauses_the_network_and_retries(store: Store) -> None:
    def script(post: RemoteRef, number: int) -> ThreadSnapshot:
        if number == 2:
            raise RateLimited("mastodon", "slow down", retry_after=0.3)
        return ThreadSnapshot(post=post, counts=Counts(), comments=[])

    adapter = Scripted("mastodon", script)
    report = Syncer(Threads(store), {"mastodon": adapter}, workers=1).run(jobs_for("mastodon", 3))
    assert report.ok and report.networks["mastodon"].fetched == 3
    times = [t for _, t in adapter.calls]
    assert times[2] - times[1] >= 0.28  # waited as told before asking again


def test_a_long_rate_limit_stops_only_that_network(store: Store) -> None:
    def script(post: RemoteRef, number: int) -> ThreadSnapshot:
        if number == 2:
            raise RateLimited("mastodon", "rate limited; retry in 900 s", retry_after=900)
        return ThreadSnapshot(post=post, counts=Counts(), comments=[])

    limited, other = Scripted("mastodon", script), Scripted("bluesky")
    threads = Threads(store)
    report = Syncer(threads, {"mastodon": limited, "bluesky": other}, workers=1).run(
        jobs_for("mastodon", 5) + jobs_for("bluesky", 5)
    )
    mastodon, bluesky = report.networks["mastodon"], report.networks["bluesky"]
    assert (mastodon.fetched, mastodon.deferred, mastodon.errors) == (1, 4, 0)
    assert mastodon.stopped is not None and "retry in 900 s" in mastodon.stopped
    assert len(limited.calls) == 2  # nobody asked again after the long limit
    assert bluesky.fetched == 5 and not report.ok
    # What was not read was not attempted either: it stays due.
    attempted = {k.remote_id for k in threads.states() if k.network == "mastodon"}
    assert attempted == {"mastodon-0"}


def test_a_nearly_spent_rate_window_ends_the_run_before_any_429(store: Store) -> None:
    """Adapters that report their last answer's rate-limit headers are paced by them."""
    adapter = Scripted("mastodon")
    # Requests left before the first read (the notification step may have spent some),
    # then after each read; the window resets in 240 s.
    left = iter([300, 50, 12, 9, 300])
    adapter.rate_budget = lambda: (next(left), 240.0)  # type: ignore[attr-defined]
    report = Syncer(Threads(store), {"mastodon": adapter}, workers=1).run(jobs_for("mastodon", 6))
    net = report.networks["mastodon"]
    assert (net.fetched, net.deferred) == (3, 3)
    assert net.stopped is not None and "9 requests left" in net.stopped


def test_a_nearly_spent_short_window_is_waited_out(store: Store) -> None:
    adapter = Scripted("mastodon")
    left = iter([200, 3, 200, 200])  # before the first read, then after each
    adapter.rate_budget = lambda: (next(left), 0.3)  # type: ignore[attr-defined]
    report = Syncer(Threads(store), {"mastodon": adapter}, workers=1).run(jobs_for("mastodon", 3))
    assert report.ok and report.networks["mastodon"].fetched == 3
    times = [t for _, t in adapter.calls]
    assert times[1] - times[0] >= 0.28


def test_refused_credentials_stop_the_network_and_count_as_an_error(store: Store) -> None:
    def script(post: RemoteRef, number: int) -> ThreadSnapshot:
        raise AuthFailed("mastodon", "set MASTODON_ACCESS_TOKEN in the environment")

    report = Syncer(Threads(store), {"mastodon": Scripted("mastodon", script)}).run(
        jobs_for("mastodon", 6)
    )
    net = report.networks["mastodon"]
    assert (net.errors, net.deferred) == (1, 5)
    assert "MASTODON_ACCESS_TOKEN" in net.messages[0]


def test_a_failed_read_keeps_the_stored_conversation(store: Store) -> None:
    threads = Threads(store)
    merge(store, snapshot(remote("1")))
    key_job = Job(Target(KEY, RemoteRef("mastodon", POST, ""), "post", NOW), None)

    def script(post: RemoteRef, number: int) -> ThreadSnapshot:
        raise Transient("mastodon", "GET /api/v1/statuses/post-1 answered 503")

    report = Syncer(threads, {"mastodon": Scripted("mastodon", script)}).run([key_job] * 2)
    assert report.networks["mastodon"].errors == 2
    assert visible(store) == {"mastodon:1"}
    assert "503" in (threads.states()[KEY].last_error or "")


def test_a_bug_in_an_adapter_is_not_swallowed(store: Store) -> None:
    def script(post: RemoteRef, number: int) -> ThreadSnapshot:
        raise ZeroDivisionError("bug")

    with pytest.raises(ZeroDivisionError):
        Syncer(Threads(store), {"mastodon": Scripted("mastodon", script)}).run(
            jobs_for("mastodon", 3)
        )


def test_sync_workers_option_is_checked(store: Store) -> None:
    adapter = Scripted("mastodon")
    adapter.options["sync_workers"] = 0
    with pytest.raises(Exception, match="sync_workers"):
        Syncer(Threads(store), {"mastodon": adapter})
    adapter.options["sync_workers"] = 7
    assert Syncer(Threads(store), {"mastodon": adapter}).workers == {"mastodon": 7}


# -- avatars ------------------------------------------------------------------------------------


def test_only_real_raster_images_count_as_avatars() -> None:
    assert avatars.image_suffix(b"\x89PNG\r\n\x1a\n....") == ".png"
    assert avatars.image_suffix(b"\xff\xd8\xff\xe0") == ".jpg"
    assert avatars.image_suffix(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == ".webp"
    assert avatars.image_suffix(b"<svg onload=alert(1)>") is None
    assert avatars.image_suffix(b"<html>") is None


def test_avatars_follow_the_setting(store: Store, tmp_path: Path) -> None:
    merge(store, snapshot(remote("1")))

    def first(mode: str) -> Any:
        settings = EngageSettings.from_pelican(
            {"ENGAGE_AVATARS": mode, "ENGAGE_BASE_DIR": str(tmp_path)}
        )
        return load_conversations(store, settings)[ARTICLE].comments[0].author

    assert first("initials").avatar is None
    assert first("hotlink").avatar == "https://social.example/avatars/bob.png"
    assert first("cache").avatar is None  # not downloaded: initials instead of a hot link


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def image_server() -> Iterator[str]:
    """127.0.0.1 serving a PNG, an SVG that scripts, HTML labelled as PNG and a huge "PNG"."""
    from http.server import BaseHTTPRequestHandler

    bodies = {
        "/ok.png": ("image/png", PNG),
        "/evil.svg": (
            "image/svg+xml",
            b"<svg onload='alert(1)' xmlns='http://www.w3.org/2000/svg'/>",
        ),
        "/lying.png": ("image/png", b"<html><script>alert(1)</script></html>"),
        "/huge.png": ("image/png", PNG + b"\0" * (avatars.AVATAR_MAX_BYTES + 1)),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            kind, body = bodies.get(self.path, ("text/plain", b""))
            self.send_response(200 if self.path in bodies else 404)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    with serving(Handler) as url:
        yield url


def test_cached_avatars_are_real_images_and_reach_the_built_site(
    store: Store, tmp_path: Path, image_server: str
) -> None:
    files = {"ok": "ok.png", "evil": "evil.svg", "lying": "lying.png", "huge": "huge.png"}
    comments = []
    for i, who in enumerate(("ok", "evil", "lying", "huge", "gone"), start=1):
        c = remote(str(i), who=who)
        avatar = f"{image_server}/{files.get(who, 'missing.png')}"
        c.author = Author(c.author.name, c.author.handle, c.author.url, avatar)
        comments.append(c)
    merge(store, snapshot(*comments))
    folder = tmp_path / "engage-avatars"
    # Loopback is private: refused unless it is a configured network's host.
    refused = avatars.cache_avatars(store, folder)
    assert (refused.fetched, refused.failed) == (0, 5)
    report = avatars.cache_avatars(store, folder, trusted_hosts={"127.0.0.1"})
    assert (report.fetched, report.failed) == (1, 4)
    (cached,) = folder.iterdir()
    assert cached.suffix == ".png" and cached.read_bytes() == PNG

    settings = EngageSettings.from_pelican(
        {"ENGAGE_AVATARS": "cache", "ENGAGE_BASE_DIR": str(tmp_path), "OUTPUT_PATH": "out"}
    )
    settings = replace_db(settings, tmp_path)
    authors = {
        c.author.name: c.author for c in load_conversations(store, settings)[ARTICLE].comments
    }
    assert authors["Ok"].avatar == f"engage-avatars/{cached.name}" and authors["Ok"].avatar_local
    assert authors["Evil"].avatar is None  # initials instead
    html = load_conversations(store, settings)[ARTICLE].comments.render("/a.html", "/blog")
    assert f'src="/blog/engage-avatars/{cached.name}"' in html
    assert "evil.svg" not in html and image_server not in html

    from pelican.plugins.engage.backfeed.conversation import copy_avatars

    assert copy_avatars(settings) == 1
    assert (tmp_path / "out" / "engage-avatars" / cached.name).read_bytes() == PNG
    # An avatar no visible comment uses any more is pruned from the cache.
    Threads(store).hide("mastodon:1")
    assert avatars.cache_avatars(store, folder, trusted_hosts={"127.0.0.1"}).pruned == 1


def replace_db(settings: EngageSettings, folder: Path) -> EngageSettings:
    """Settings whose database is the test store's (the avatar folder sits beside it)."""
    from dataclasses import replace

    return replace(settings, db_path=folder / "engage.sqlite3")


def test_the_blocklist_applies_at_build_time_too(store: Store, tmp_path: Path) -> None:
    merge(store, snapshot(remote("1", who="bob"), remote("2", who="spammer")))
    settings = EngageSettings.from_pelican(
        {"ENGAGE_BLOCKLIST": ["@spammer@social.example"], "ENGAGE_BASE_DIR": str(tmp_path)}
    )
    shown = load_conversations(store, settings)[ARTICLE]
    assert [c.author.name for c in shown.comments] == ["Bob"]
    assert shown.counts["mastodon"].replies == 1


def test_edits_are_dated_only_where_the_network_gives_no_edit_time(store: Store) -> None:
    key = ThreadKey(ARTICLE, "bluesky", POST)
    threads = Threads(store)
    first = remote("b1", network="bluesky", html="<p>first</p>")
    threads.merge(key, snapshot(first), full=True)
    threads.merge(key, snapshot(remote("b1", network="bluesky", html="<p>new</p>")), full=True)
    assert rows(store)["bluesky:b1"]["edited_at"] is not None
    # Mastodon reports edits itself: a changed rendering alone is not an edit.
    merge(store, snapshot(remote("m1", html="<p>x</p>")))
    merge(store, snapshot(remote("m1", html='<p>x <a href="https://e.example/">link</a></p>')))
    assert rows(store)["mastodon:m1"]["edited_at"] is None


def test_an_answer_recorded_by_engage_reply_is_not_taken_for_an_edit(store: Store) -> None:
    """answers.py stores the author's answer at once, without a handle; the first read of
    it brings the network's own rendering of the same words."""
    key = ThreadKey(ARTICLE, "facebook", POST)
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO comment (id, network, remote_id, article, parent_id, author_name,"
            " author_handle, author_url, html, url, kind, is_own, created_at, first_seen,"
            " last_seen) VALUES ('facebook:a1', 'facebook', 'a1', ?, NULL, 'You', '', '',"
            " '<p>Thanks!</p>', '', 'reply', 1, ?, ?, ?)",
            (ARTICLE, T0.isoformat(), T0.isoformat(), T0.isoformat()),
        )
    answer = remote("a1", network="facebook", who="ada", own=True, html="<p>Thanks! </p>")
    Threads(store).merge(key, snapshot(answer), full=True)
    row = rows(store)["facebook:a1"]
    assert row["edited_at"] is None and row["author_handle"] and row["is_own"] == 1
