"""Notification-driven sync on Mastodon: one request says what changed, then only those
threads are read. Against the Mastodon stand-in and against mastodon-mock, an independent
Mastodon API server; request counts come from the adapter's own count of answers (checked
against the stand-in's request log)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from notify_steps import answer_a_stored_reply
from notify_worlds import MockWorld, World, comments, requests_of

from pelican.plugins.engage.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "engage.sqlite3") as opened:
        yield opened


@pytest.fixture(params=["stand-in", "mastodon-mock"])
def world(request: pytest.FixtureRequest, store: Store, tmp_path: Path) -> Iterator[World]:
    cls = World if request.param == "stand-in" else MockWorld
    made = cls("mastodon", store, tmp_path / "state")
    yield made
    made.stop()


def test_a_quiet_sync_is_one_request_and_new_activity_one_more_per_thread(world: World) -> None:
    world.publish(6)
    first = world.sync()
    assert first.ok and first.networks["mastodon"].notifications == "baseline"
    assert first.networks["mastodon"].fetched == 6  # everything new is read once
    quiet = world.sync()
    assert quiet.ok and requests_of(quiet, "mastodon") == 1
    assert quiet.networks["mastodon"].notifications == "on"
    assert quiet.networks["mastodon"].fetched == 0

    reply = world.reply(world.refs[2].id, "bob", "Good point")
    world.reply(world.refs[4].id, "carol", "I disagree")
    busy = world.sync()
    assert busy.ok and busy.networks["mastodon"].new == 2
    assert requests_of(busy, "mastodon") == 1 + 2  # the notifications, one read per thread
    assert busy.networks["mastodon"].flagged == 2

    world.reply(reply, "carol", "Answering Bob")  # a reply to a reply, mentioning the author
    nested = world.sync()
    assert nested.networks["mastodon"].new == 1 and requests_of(nested, "mastodon") == 2
    assert requests_of(world.sync(), "mastodon") == 1


def test_a_like_updates_the_figures_without_reading_the_thread(world: World, store: Store) -> None:
    world.publish(3)
    world.sync()
    world.like(world.refs[1])
    report = world.sync()
    assert requests_of(report, "mastodon") == 1 and report.networks["mastodon"].fetched == 0
    assert report.changed
    article = world.targets[1].key.article
    likes = store.conn.execute(
        "SELECT likes FROM engagement WHERE article = ? AND network = 'mastodon'", (article,)
    ).fetchone()[0]
    assert likes == 1


def test_a_reply_without_mention_waits_for_the_safety_net(world: World) -> None:
    answer_a_stored_reply(world, 0, "Hello", "Only to Bob", extra={"mention": False})
    assert world.sync().networks["mastodon"].new == 0  # nothing told us
    later = world.sync(now=datetime.now(UTC) + timedelta(hours=3))
    net = later.networks["mastodon"]
    assert net.new == 1 and net.safety == 2 and net.safety_per_day > 0


def test_the_adapters_count_is_what_the_server_answered(store: Store, tmp_path: Path) -> None:
    world = World("mastodon", store, tmp_path / "state")
    try:
        world.publish(3)
        for _ in range(2):
            before = world.served()
            report = world.sync()
            assert requests_of(report, "mastodon") == world.served() - before
        world.reply(world.refs[0].id)
        before = world.served()
        report = world.sync()
        assert requests_of(report, "mastodon") == world.served() - before == 2
    finally:
        world.stop()


def test_notifications_off_keeps_the_decaying_schedule(store: Store, tmp_path: Path) -> None:
    world = World("mastodon", store, tmp_path / "state", notifications=False)
    try:
        world.publish(3)
        world.sync()
        again = world.sync()  # young posts are read on every run without notifications
        assert again.networks["mastodon"].notifications == "off"
        assert again.networks["mastodon"].fetched == 3 and requests_of(again, "mastodon") == 6
    finally:
        world.stop()


def test_ids_stay_known_across_runs(world: World, store: Store) -> None:
    """A reply to a comment stored by an earlier run is found through the store."""
    answer_a_stored_reply(world, 1, "First", "Second, to Bob and the author")
    report = world.sync()
    assert report.networks["mastodon"].new == 1
    assert len(list(comments(store))) == 2
