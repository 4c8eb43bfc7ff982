"""The notification feeds against recorded real answers (tests/recordings): the adapters read
the real shapes, and the stand-ins answer in them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from atproto_client import models
from atproto_client.models.utils import get_or_create
from recordings_data import load

from pelican.plugins.engage.networks.base import AdapterContext, RemoteRef
from pelican.plugins.engage.networks.bluesky_notices import read_notifications
from pelican.plugins.engage.networks.facebook import FacebookAdapter
from pelican.plugins.engage.networks.mastodon_notices import add_notice
from pelican.plugins.engage.networks.notices import Changes, load_cursor
from pelican.plugins.engage.networks.webmention import WebmentionAdapter
from pelican.plugins.engage.sandbox.bluesky import BlueskyStandIn
from pelican.plugins.engage.sandbox.mastodon import MastodonStandIn
from pelican.plugins.engage.sandbox.x import XStandIn


def test_a_recorded_mastodon_notification_is_read() -> None:
    _, _, body = load("mastodon", "notifications")
    changes = Changes(None)
    for note in body:
        add_notice(note, changes)
    assert [(n.kind, n.subject) for n in changes.notices] == [("mention", "117020576916218297")]


def test_the_mastodon_stand_in_answers_in_the_recorded_shape() -> None:
    _, _, recorded = load("mastodon", "notifications")
    with MastodonStandIn() as server:
        post = server.add_post("author", "Hello")
        server.add_reply(post.id, "bob", "@author hi")
        import httpx

        answer = httpx.get(
            f"{server.base_url}/api/v1/notifications",
            params={"types[]": "mention"},
            headers={"Authorization": f"Bearer {server.token_for('author')}"},
        ).json()
    assert set(answer[0]) == set(recorded[0])
    assert set(answer[0]["status"]) >= {"id", "in_reply_to_id", "visibility", "content", "account"}


def recorded_bluesky() -> list[Any]:
    _, _, body = load("bluesky", "list_notifications")
    parsed = get_or_create(body, models.AppBskyNotificationListNotifications.Response)
    return list(parsed.notifications)


def test_recorded_bluesky_notifications_are_read() -> None:
    rows = recorded_bluesky()
    pages = iter([(rows, None)])
    changes = read_notifications(lambda cursor, limit: next(pages), {"t": "2000"}, 3)
    kinds = sorted({n.kind for n in changes.notices})
    assert kinds == ["like", "mention", "quote", "reply", "repost"]  # follows are not ours
    reply = next(n for n in changes.notices if n.kind == "reply")
    assert len(reply.chain) == 2 and all(i.startswith("at://") for i in reply.chain)
    assert not changes.overflow and load_cursor(changes.cursor)["t"] == rows[0].indexed_at


def test_the_bluesky_stand_in_answers_in_the_recorded_shape() -> None:
    _, _, recorded = load("bluesky", "list_notifications")
    with BlueskyStandIn() as server:
        post = server.add_post("author", "Hello")
        server.add_reply(post.id, "bob", "hi")
        server.like(post.id, "carol")
        server.quote(post.id, "eve")
        rows = {n["reason"]: n for n in server_notifications(server)}
    wanted = {k for n in recorded["notifications"] for k in n if n["reason"] != "follow"}
    for reason in ("reply", "like", "quote"):
        assert set(rows[reason]) == wanted, reason
    parsed = get_or_create(
        {"notifications": list(rows.values())}, models.AppBskyNotificationListNotifications.Response
    )
    assert len(parsed.notifications) == 3


def server_notifications(server: BlueskyStandIn) -> list[dict[str, Any]]:
    import httpx

    token = server._session_body(server.accounts["author"])["accessJwt"]
    answer = httpx.get(
        f"{server.base_url}/xrpc/app.bsky.notification.listNotifications",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.headers["ratelimit-remaining"]
    rows: list[dict[str, Any]] = answer.json()["notifications"]
    return rows


def test_the_x_stand_in_answers_mentions_in_the_recorded_shape() -> None:
    _, _, recorded = load("x", "users_mentions")
    with XStandIn() as server:
        post = server.add_post("author", "Hello")
        server.add_reply(post.id, "bob", "@ada_quill hi")
        view = server.render_tweet(server.mentions_of("author")[0], {"conversation_id"})
    assert set(recorded["data"][0]) <= set(view)
    assert view["conversation_id"] == post.id


def test_a_recorded_page_feed_gives_figures_then_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, body = load("facebook", "page_feed_with_updated_time")
    adapter = FacebookAdapter(
        {"page_id": "19292868552", "base_url": "http://127.0.0.1:9"}, AdapterContext(env={})
    )
    monkeypatch.setattr(adapter, "_get", lambda path, **params: body)
    first = adapter.changes(None, [])
    assert first is not None and first.baseline and len(first.counts) == len(body["data"])
    moved = json.loads(json.dumps(body))
    moved["data"][3]["updated_time"] = "2021-07-13T08:00:00+0000"  # a comment arrived
    monkeypatch.setattr(adapter, "_get", lambda path, **params: moved)
    second = adapter.changes(first.cursor, [])
    assert second is not None and [n.subject for n in second.notices] == [body["data"][3]["id"]]
    assert second.watched == frozenset(p["id"] for p in body["data"])


def test_a_recorded_domain_answer_names_the_articles(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, _, body = load("webmention", "mentions_domain")
    adapter = WebmentionAdapter({}, AdapterContext(env={"WEBMENTIONIO_TOKEN": "t"}))

    class Session:
        def get_json(self, path: str, **kwargs: Any) -> Any:
            return body

    monkeypatch.setattr(adapter, "_api_session", Session)
    url = "https://www.juanfernandes.uk/notes/google-floc/"
    changes = adapter.changes('{"since": "1"}', [RemoteRef("webmention", url, url)])
    assert changes is not None and len(changes.notices) == len(body["children"])
    assert url in {n.subject for n in changes.notices}
    assert load_cursor(changes.cursor)["since"] == str(max(c["wm-id"] for c in body["children"]))
