"""Notification-driven sync on every network, against the stand-ins: a quiet sync costs one
request per network, new activity one more per changed conversation, whatever the number of
syndicated posts; a thread named by a notification stays flagged until it is read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from notify_steps import answer_a_stored_reply
from notify_worlds import World, requests_of

from pelican.plugins.engage.errors import Transient
from pelican.plugins.engage.networks.base import AdapterContext, RemoteRef, ThreadSnapshot
from pelican.plugins.engage.networks.feed import FeedAdapter
from pelican.plugins.engage.sandbox.feed import FeedStandIn
from pelican.plugins.engage.store import Store

NETWORKS = ("mastodon", "bluesky", "x", "facebook", "webmention")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "engage.sqlite3") as opened:
        yield opened


@pytest.fixture(params=NETWORKS)
def world(request: pytest.FixtureRequest, store: Store, tmp_path: Path) -> Iterator[World]:
    made = World(request.param, store, tmp_path / "state", notify_every="0")
    yield made
    made.stop()


@pytest.mark.parametrize("posts", [3, 40])
def test_quiet_and_busy_syncs_cost_what_changed(world: World, posts: int) -> None:
    network = world.network
    world.publish(posts)
    first = world.sync()
    assert first.ok and first.networks[network].notifications == "baseline"
    before = world.served()
    quiet = world.sync()
    assert quiet.ok and requests_of(quiet, network) == 1 == world.served() - before
    assert quiet.networks[network].notifications == "on"

    world.reply(world.refs[1].id, "bob", "A reply")
    world.reply(world.refs[-1].id, "carol", "Another")
    before = world.served()
    busy = world.sync()
    assert busy.ok and busy.networks[network].new == 2
    assert requests_of(busy, network) == 1 + 2 == world.served() - before
    assert requests_of(world.sync(), network) == 1


def test_a_nested_reply_is_found_through_the_stored_reply(world: World) -> None:
    answer_a_stored_reply(world, 0, "First", "Second, under Bob's")
    report = world.sync()
    assert report.networks[world.network].new == 1
    assert requests_of(report, world.network) == 2


def test_a_flag_survives_a_run_that_could_not_read(world: World, store: Store) -> None:
    """The cursor moves on with the flag in the same transaction: a failed read loses nothing."""
    network = world.network
    world.publish(2)
    world.sync()
    world.reply(world.refs[1].id, "bob", "Arrives while the network falters")
    calls = {"n": 0}
    real = world.adapter.fetch_changed

    def failing(post: RemoteRef, cursor: str | None = None) -> ThreadSnapshot:
        calls["n"] += 1
        raise Transient(network, "the read failed")

    world.adapter.fetch_changed = failing
    broken = world.sync()
    assert calls["n"] == 1 and broken.networks[network].errors == 1
    world.adapter.fetch_changed = real
    flagged = store.conn.execute(
        "SELECT count(*) FROM sync_state WHERE flagged_at IS NOT NULL AND network = ?", (network,)
    ).fetchone()[0]
    assert flagged == 1
    # The failed thread waits out the retry interval, flag and all, and is read then.
    later = world.sync(now=datetime.now(UTC) + timedelta(hours=1, minutes=1))
    assert later.networks[network].new == 1


def test_many_posts_cost_no_more_when_quiet(store: Store, tmp_path: Path) -> None:
    world = World("mastodon", store, tmp_path / "state")
    try:
        world.publish(300, age=timedelta(days=3))
        world.sync()
        assert requests_of(world.sync(), "mastodon") == 1
    finally:
        world.stop()


def test_x_asks_its_billed_feed_at_most_every_fifteen_minutes(store: Store, tmp_path: Path) -> None:
    world = World("x", store, tmp_path / "state")
    try:
        world.publish(2)
        world.sync()
        quiet = world.sync()
        assert quiet.networks["x"].notifications == "not due"
        assert requests_of(quiet, "x") == 0
        world.reply(world.refs[0].id, "bob", "A reply")
        later = world.sync(now=datetime.now(UTC) + timedelta(minutes=16))
        assert later.networks["x"].notifications == "on" and later.networks["x"].new == 1
        used = store.conn.execute(
            "SELECT sum(count) FROM usage WHERE network = 'x' AND kind = 'reads'"
        ).fetchone()[0]
        assert used == world.served() - sum(
            1 for r in world.server.requests if r.method != "GET"
        )  # every read went through the spending guard
    finally:
        world.stop()


def test_a_comment_feed_is_read_with_a_conditional_get(tmp_path: Path) -> None:
    with FeedStandIn() as server:
        server.add_comment("hello", "eve", "First")
        adapter = FeedAdapter({"allow_private_addresses": True}, AdapterContext(env={}))
        ref = RemoteRef("feed", server.feed_url("hello"), server.feed_url("hello"))
        first = adapter.fetch_thread(ref)
        assert len(first.comments) == 1 and first.cursor
        again = adapter.fetch_thread(ref, first.cursor)
        assert again.unchanged and again.cursor == first.cursor
        assert server.requests[-1].headers.get("if-none-match")
        server.add_comment("hello", "bob", "Second")
        third = adapter.fetch_thread(ref, first.cursor)
        assert not third.unchanged and len(third.comments) == 2
        assert adapter.requests_made == 3
