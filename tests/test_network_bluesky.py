"""The Bluesky adapter, running the real atproto client against the local stand-in."""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from network_fixtures import gives_up_quickly

from pelican.plugins.engage import errors
from pelican.plugins.engage.networks import build_adapter
from pelican.plugins.engage.networks.base import AdapterContext, OutgoingPost, RemoteRef
from pelican.plugins.engage.networks.bluesky import (
    BlueskyAdapter,
    decode_tid,
    record_html,
    record_key,
)
from pelican.plugins.engage.sandbox.bluesky import TID_RE, BlueskyStandIn

WHEN = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
ARTICLE = "https://blog.example.org/2026/05/on-quiet-software/"
PASSWORD = BlueskyStandIn.app_password


class FastBluesky(BlueskyStandIn):
    timeout_seconds = 1.0  # a "timeout" fault stalls this long; the adapter gives up sooner


Make = Callable[..., BlueskyAdapter]


@pytest.fixture
def standin() -> Iterator[FastBluesky]:
    with FastBluesky() as server:
        yield server


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def make(standin: FastBluesky, state_dir: Path) -> Iterator[Make]:
    made: list[BlueskyAdapter] = []

    def _make(env: dict[str, str] | None = None, **options: object) -> BlueskyAdapter:
        ctx = AdapterContext(env=standin.environment() if env is None else env, state_dir=state_dir)
        adapter = build_adapter(
            "bluesky", {"base_url": standin.base_url, "timeout": 0.5, **options}, ctx
        )
        assert isinstance(adapter, BlueskyAdapter)
        made.append(adapter)
        return adapter

    yield _make
    for adapter in made:
        adapter.close()


def post(
    text: str = "Quiet software is a feature. " + ARTICLE, key: str = "post-1", **kw: object
) -> OutgoingPost:
    fields: dict[str, object] = {
        "link": ARTICLE,
        "link_title": "On quiet software",
        "created_at": WHEN,
    }
    fields.update(kw)
    return OutgoingPost(text=text, idempotency_key=key, **fields)  # type: ignore[arg-type]


def count(standin: BlueskyStandIn, nsid: str) -> int:
    return len(standin.calls(None, nsid.replace(".", r"\.") + "$"))


# -- offline behaviour ----------------------------------------------------------------
def offline(**options: object) -> BlueskyAdapter:
    return BlueskyAdapter({"base_url": "http://127.0.0.1:9", **options}, AdapterContext(env={}))


def test_constructor_and_measure_need_no_network_and_no_credentials(
    standin: FastBluesky, make: Make
) -> None:
    adapter = make(env={})
    assert adapter.max_length() == 300
    assert adapter.measure("hello") == 5
    assert standin.requests == []
    with pytest.raises(errors.AuthFailed, match="BLUESKY_HANDLE and BLUESKY_APP_PASSWORD"):
        adapter.publish(post())
    assert standin.requests == []
    assert offline(max_length=280).max_length() == 280


def test_default_base_url_is_bsky_social() -> None:
    adapter = BlueskyAdapter({}, AdapterContext(env={}))
    assert adapter.base_url == "https://bsky.social"


# -- length ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello world", 11),
        ("Read this: " + ARTICLE, 11 + len(ARTICLE)),  # the whole URL counts
        ("👨‍👩‍👧‍👦", 1),  # a ZWJ family is one grapheme of 25 bytes
        ("🏳️‍🌈", 1),  # ZWJ with a variation selector
        ("🇫🇷🇯🇵", 2),  # a flag is a pair of regional indicators
        ("👍🏽", 1),  # skin tone modifier
        ("e\u0301", 1),  # combining acute accent
        ("a\u0308\u0301\u0323", 1),  # stacked combining marks
        ("שָׁלוֹם", 4),  # Hebrew with niqqud (right to left)
        ("مرحبا بالعالم", 13),  # Arabic (right to left)
        ("\u202bשלום\u202c " + ARTICLE, 7 + len(ARTICLE)),  # bidi embedding marks count too
    ],
)
def test_measure_counts_graphemes(text: str, expected: int) -> None:
    assert offline().measure(text) == expected


def test_measure_also_enforces_the_byte_limit() -> None:
    adapter = offline()
    family = "👨‍👩‍👧‍👦"
    assert adapter.measure(family * 120) == 120  # 3,000 bytes exactly: fits
    assert adapter.measure(family * 121) == 303  # 3,025 bytes: past the byte limit
    assert adapter.measure("e\u0301" * 300) == 300  # 900 bytes: graphemes decide


def test_the_server_agrees_with_measure_at_the_limit(standin: FastBluesky, make: Make) -> None:
    adapter = make()
    text = "👨‍👩‍👧‍👦" * 80 + "e\u0301" * 100 + "שָׁ" * 100 + "a" * 20  # 300 graphemes, 2,920 bytes
    assert len(text.encode()) == 2920
    assert adapter.measure(text) == 300
    ref = adapter.publish(post(text, key="at-limit", link=None))
    assert standin.live(ref.id) is not None
    with pytest.raises(errors.NetworkError, match="300 graphemes"):
        adapter.publish(post(text + "!", key="over-limit", link=None))
    assert count(standin, "com.atproto.repo.createRecord") == 1  # refused before any call


# -- record keys --------------------------------------------------------------------------
def test_record_key_is_a_tid_from_created_at_and_the_key() -> None:
    rkey = record_key(WHEN, "post-1")
    assert TID_RE.match(rkey)
    value = decode_tid(rkey)
    micros = (WHEN - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert value >> 10 == micros
    assert value & 0x3FF == int.from_bytes(hashlib.sha256(b"post-1").digest()[:2], "big") & 0x3FF
    assert record_key(WHEN, "post-1") == rkey
    assert record_key(WHEN, "post-2") != rkey
    assert record_key(WHEN + timedelta(microseconds=1), "post-1") > rkey  # sorts by time
    assert record_key(None, "post-1") == record_key(None, "post-1")
    assert TID_RE.match(record_key(None, "post-1"))


# -- publishing ---------------------------------------------------------------------
def test_publish_writes_a_post_with_link_facets_a_card_and_its_own_rkey(
    standin: FastBluesky, make: Make
) -> None:
    text = "Ça, c'est 👨‍👩‍👧‍👦 dit: " + ARTICLE + ". And shalom שָׁלוֹם https://example.org/x)"
    ref = make().publish(post(text, link_description="Why calm tools win"))

    write = standin.calls("POST", r"createRecord$")[0]
    assert write.headers["authorization"].startswith("Bearer ")
    body = write.json()
    rkey = record_key(WHEN, "post-1")
    assert body["rkey"] == rkey
    assert body["repo"] == "did:plc:author"
    assert body["collection"] == "app.bsky.feed.post"
    record = body["record"]
    assert record["$type"] == "app.bsky.feed.post"
    assert record["text"] == text
    assert record["createdAt"] == "2026-05-01T12:30:15.123456Z"
    encoded = text.encode("utf-8")
    links = [
        (encoded[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(), f["features"][0])
        for f in record["facets"]
    ]
    assert links == [
        (ARTICLE, {"$type": "app.bsky.richtext.facet#link", "uri": ARTICLE}),
        (
            "https://example.org/x",
            {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.org/x"},
        ),
    ]
    assert record["embed"] == {
        "$type": "app.bsky.embed.external",
        "external": {
            "$type": "app.bsky.embed.external#external",
            "uri": ARTICLE,
            "title": "On quiet software",
            "description": "Why calm tools win",
        },
    }

    uri = f"at://did:plc:author/app.bsky.feed.post/{rkey}"
    assert ref.id == uri and standin.live(uri) is not None
    assert ref.url == f"https://bsky.app/profile/author.bsky.social/post/{rkey}"
    cid = standin.items[uri].extra["cid"]
    assert dict(ref.extra) == {"uri": uri, "cid": cid, "root_uri": uri, "root_cid": cid}


def test_facets_mark_bare_domains_and_hashtags_in_byte_offsets(
    standin: FastBluesky, make: Make
) -> None:
    # The SDK's own detection, as the Bluesky app does it: a bare domain with a known
    # top-level domain becomes an https link, a #tag a tag facet, both after multi-byte text.
    text = "Ça, 👨‍👩‍👧‍👦 שָׁלוֹם: read example.com/notes, #IndieWeb and https://e.org/x."
    make().publish(post(text, link=None))
    record = standin.calls("POST", r"createRecord$")[0].json()["record"]
    encoded = text.encode("utf-8")
    found = [
        (encoded[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(), f["features"][0])
        for f in record["facets"]
    ]
    assert found == [
        (
            "example.com/notes",
            {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/notes"},
        ),
        ("#IndieWeb", {"$type": "app.bsky.richtext.facet#tag", "tag": "IndieWeb"}),
        ("https://e.org/x", {"$type": "app.bsky.richtext.facet#link", "uri": "https://e.org/x"}),
    ]
    assert encoded.index(b"example.com") > len("Ça, 👨‍👩‍👧‍👦 שָׁלוֹם: read ")  # bytes, not characters


def test_a_retried_post_collides_instead_of_duplicating(standin: FastBluesky, make: Make) -> None:
    adapter = make()
    first = adapter.publish(post())
    for style in ("500", "400", "409"):  # bsky.social today, and newer PDSs
        standin.collision = style
        assert adapter.publish(post()) == first
    assert len(standin.posts_by("author")) == 1
    assert count(standin, "com.atproto.repo.createRecord") == 4
    assert count(standin, "com.atproto.repo.getRecord") == 3


def test_a_post_whose_answer_was_lost_is_found_on_retry(standin: FastBluesky, make: Make) -> None:
    adapter = make()
    adapter.find_published(post())  # log in first
    standin.lose_next_write()
    with pytest.raises(errors.Transient):
        adapter.publish(post())
    assert len(standin.posts_by("author")) == 1  # it did land
    ref = adapter.publish(post())
    assert ref.id == standin.posts_by("author")[0].id
    assert len(standin.posts_by("author")) == 1


def test_a_post_without_created_at_still_gets_a_stable_key(
    standin: FastBluesky, make: Make
) -> None:
    adapter = make()
    first = adapter.publish(post(created_at=None))
    assert adapter.publish(post(created_at=None)) == first
    assert first.id.endswith(record_key(None, "post-1"))
    assert len(standin.posts_by("author")) == 1


def test_someone_elses_record_at_our_key_is_a_duplicate(standin: FastBluesky, make: Make) -> None:
    standin.add_post("author", "an older, different post", rkey=record_key(WHEN, "post-1"))
    with pytest.raises(errors.Duplicate, match="different post"):
        make().publish(post())
    assert len(standin.posts_by("author")) == 1


def test_find_published_looks_at_the_deterministic_key(standin: FastBluesky, make: Make) -> None:
    adapter = make()
    assert adapter.find_published(post()) is None
    ref = adapter.publish(post())
    assert adapter.find_published(post()) == ref
    follow = post("A follow-up thought.", key="post-1/followup-1", reply_to=ref, link=None)
    assert adapter.find_published(follow) is None
    follow_ref = adapter.publish(follow)
    assert adapter.find_published(follow) == follow_ref


# -- threads ---------------------------------------------------------------------------
def test_follow_ups_thread_under_the_root_and_their_parent(
    standin: FastBluesky, make: Make
) -> None:
    adapter = make()
    first = adapter.publish(post())
    second = adapter.publish(post("Second thought.", key="f1", reply_to=first, link=None))
    third = adapter.publish(post("Third thought.", key="f2", reply_to=second, link=None))

    reply = standin.calls("POST", r"createRecord$")[-1].json()["record"]["reply"]
    assert reply["root"] == {
        "$type": "com.atproto.repo.strongRef",
        "uri": first.id,
        "cid": first.extra["cid"],
    }
    assert reply["parent"]["uri"] == second.id and reply["parent"]["cid"] == second.extra["cid"]
    assert standin.items[third.id].parent_id == second.id
    assert standin.items[third.id].root_id == first.id
    assert third.extra["root_uri"] == first.id and second.extra["root_uri"] == first.id
    assert "embed" not in standin.items[third.id].extra["record"]


def test_fetch_thread_returns_the_nested_tree_and_counts(standin: FastBluesky, make: Make) -> None:
    adapter = make()
    root = adapter.publish(post())
    bob = standin.add_reply(root.id, "bob", "Nice post! <b>See</b> https://example.com/ünï 🎉")
    carol = standin.add_reply(bob.id, "carol", "I disagree with Bob.\n\nStrongly.")
    dave = standin.add_reply(carol.id, "dave", "Three levels down.")
    eve = standin.add_reply(root.id, "eve", "Another top-level reply.")
    standin.like(root.id, "bob", "carol", "dave")
    standin.repost(root.id, "dave")
    standin.quote(root.id, "eve")
    standin.like(bob.id, "carol")
    own = adapter.reply(RemoteRef("bluesky", bob.id, ""), "Thanks, Bob!", "answer-bob")

    snapshot = adapter.fetch_thread(root)

    request = standin.calls("GET", r"getPostThread$")[-1]
    assert request.arg("uri") == root.id
    assert request.arg("depth") == "100" and request.arg("parentHeight") == "0"
    assert request.headers["authorization"].startswith("Bearer ")
    assert snapshot.complete
    assert snapshot.post.id == root.id
    assert (snapshot.counts.likes, snapshot.counts.reposts, snapshot.counts.replies) == (3, 2, 2)
    by_id = {c.ref.id: c for c in snapshot.comments}
    assert set(by_id) == {bob.id, carol.id, dave.id, eve.id, own.id}
    assert by_id[bob.id].parent_id == root.id
    assert by_id[carol.id].parent_id == bob.id
    assert by_id[dave.id].parent_id == carol.id
    assert by_id[own.id].parent_id == bob.id
    assert by_id[own.id].is_own and not by_id[bob.id].is_own
    assert by_id[bob.id].likes == 1
    assert by_id[carol.id].author.name == "Carol Nguyen"
    assert by_id[carol.id].author.handle == "@carol.bsky.social"
    assert by_id[carol.id].author.url == "https://bsky.app/profile/carol.bsky.social"
    assert by_id[carol.id].ref.url.startswith("https://bsky.app/profile/carol.bsky.social/post/")
    assert by_id[carol.id].html == "<p>I disagree with Bob.</p><p>Strongly.</p>"
    assert by_id[bob.id].html == (
        '<p>Nice post! &lt;b&gt;See&lt;/b&gt; <a href="https://example.com/ünï">'
        "https://example.com/ünï</a> 🎉</p>"
    )
    assert by_id[dave.id].ref.extra["root_uri"] == root.id
    assert by_id[dave.id].created_at == dave.created_at.replace(
        microsecond=dave.created_at.microsecond // 1000 * 1000
    )


def test_fetch_thread_leaves_out_hidden_blocked_missing_and_private_replies(
    standin: FastBluesky, make: Make
) -> None:
    adapter = make()
    root = adapter.publish(post())
    kept = standin.add_reply(root.id, "bob", "A fine reply.")
    hidden = standin.add_reply(root.id, "carol", "Spam, hidden by the author.")
    standin.add_reply(hidden.id, "bob", "Under the hidden one.")
    blocked = standin.add_reply(root.id, "dave", "From a blocked account.")
    standin.add_reply(blocked.id, "bob", "Under the blocked one.")
    gone = standin.add_reply(root.id, "eve", "Deleted later.")
    standin.add_reply(gone.id, "bob", "Under the deleted one.")
    standin.add_account("frank", "Frank Ito")
    standin.label("frank", "!no-unauthenticated")
    standin.add_reply(root.id, "frank", "Please don't show me to logged-out readers.")
    standin.hide(hidden.id)
    standin.block("dave")
    standin.delete(gone.id)

    # The stand-in answers the way the AppView does: a placeholder for the blocked reply,
    # the deleted one gone with its subtree (no notFoundPost), and the thread gate.
    answer = httpx.get(
        f"{standin.base_url}/xrpc/app.bsky.feed.getPostThread", params={"uri": root.id}
    )
    raw = answer.json()
    kinds = sorted(r["$type"].rsplit("#", 1)[1] for r in raw["thread"]["replies"])
    assert kinds == ["blockedPost", "threadViewPost", "threadViewPost", "threadViewPost"]
    assert gone.id not in answer.text and "Under the deleted one." not in answer.text
    assert raw["threadgate"]["record"]["hiddenReplies"] == [hidden.id]

    snapshot = adapter.fetch_thread(root)
    assert [c.ref.id for c in snapshot.comments] == [kept.id]
    assert snapshot.counts.replies == 4  # Bluesky's own count still includes them


def test_a_depth_limit_marks_the_snapshot_incomplete(standin: FastBluesky, make: Make) -> None:
    adapter = make(thread_depth=1)
    root = adapter.publish(post())
    bob = standin.add_reply(root.id, "bob", "Top level.")
    standin.add_reply(bob.id, "carol", "Beyond the depth limit.")
    snapshot = adapter.fetch_thread(root)
    assert [c.ref.id for c in snapshot.comments] == [bob.id]
    assert not snapshot.complete
    assert standin.calls("GET", r"getPostThread$")[-1].arg("depth") == "1"


def test_reply_to_another_accounts_comment_lands_under_it(standin: FastBluesky, make: Make) -> None:
    adapter = make()
    root = adapter.publish(post())
    bob = standin.add_reply(root.id, "bob", "Question?")
    carol = standin.add_reply(bob.id, "carol", "Follow-up question?")
    comment = next(c for c in adapter.fetch_thread(root).comments if c.ref.id == carol.id)

    ref = adapter.reply(comment.ref, "Good question, Carol.", "answer-carol")

    item = standin.items[ref.id]
    assert item.parent_id == carol.id and item.root_id == root.id
    reply = item.extra["record"]["reply"]
    assert reply["root"]["cid"] == standin.items[root.id].extra["cid"]
    assert reply["parent"]["cid"] == carol.extra["cid"]
    assert count(standin, "app.bsky.feed.getPosts") == 0  # the comment's ref carried the cids
    again = next(c for c in adapter.fetch_thread(root).comments if c.ref.id == ref.id)
    assert again.parent_id == carol.id and again.is_own
    assert adapter.reply(comment.ref, "Good question, Carol.", "answer-carol") == ref


# -- sessions ---------------------------------------------------------------------------
def stored(state_dir: Path) -> dict[str, str]:
    data: dict[str, str] = json.loads(
        (state_dir / "bluesky-author.bsky.social.session").read_text()
    )
    return data


def test_the_session_is_stored_privately_and_reused(
    standin: FastBluesky, make: Make, state_dir: Path
) -> None:
    ref = make().publish(post())
    path = state_dir / "bluesky-author.bsky.social.session"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    assert PASSWORD not in path.read_text()
    assert stored(state_dir)["service"] == standin.base_url

    second = make()  # a new process would do the same
    assert second.fetch_thread(ref).post.id == ref.id
    assert second.publish(post()) == ref
    assert count(standin, "com.atproto.server.createSession") == 1
    # Resuming a stored session asks for no profile: the session names the account.
    assert count(standin, "app.bsky.actor.getProfile") == 1


def test_refreshed_tokens_are_written_back(
    standin: FastBluesky, make: Make, state_dir: Path
) -> None:
    standin.access_ttl = 60  # within the client's 15-minute margin: it refreshes before each call
    adapter = make()
    ref = adapter.publish(post())
    assert count(standin, "com.atproto.server.refreshSession") >= 1
    session = stored(state_dir)["session"]
    live = [t for t, tok in standin.tokens.items() if not tok.revoked and tok.kind == "refresh"]
    assert live and live[-1] in session  # the newest refresh token, not the spent one

    make().fetch_thread(ref)
    assert count(standin, "com.atproto.server.createSession") == 1


def test_a_token_refused_by_the_server_is_refreshed(standin: FastBluesky, make: Make) -> None:
    adapter = make()
    ref = adapter.publish(post())
    standin.expire_sessions()
    assert adapter.fetch_thread(ref).post.id == ref.id  # mid-run: refresh and retry
    standin.expire_sessions()
    assert make().fetch_thread(ref).post.id == ref.id  # at start-up, from the stored session
    assert count(standin, "com.atproto.server.refreshSession") == 2
    assert count(standin, "com.atproto.server.createSession") == 1


def test_a_rejected_stored_session_falls_back_to_the_password(
    standin: FastBluesky, make: Make
) -> None:
    ref = make().publish(post())
    standin.revoke_sessions()
    assert make().fetch_thread(ref).post.id == ref.id
    assert count(standin, "com.atproto.server.createSession") == 2


def test_a_session_stored_for_another_server_is_not_used(
    standin: FastBluesky, make: Make, state_dir: Path
) -> None:
    make().find_published(post())
    path = state_dir / "bluesky-author.bsky.social.session"
    data = stored(state_dir)
    path.write_text(json.dumps({**data, "service": "http://127.0.0.1:1"}))
    make().find_published(post())
    assert count(standin, "com.atproto.server.createSession") == 2


@pytest.mark.parametrize("content", ["not json", '{"service": "SERVICE", "session": "a:::b"}'])
def test_an_unreadable_stored_session_means_a_new_login(
    standin: FastBluesky, make: Make, state_dir: Path, content: str
) -> None:
    state_dir.mkdir(mode=0o700)
    path = state_dir / "bluesky-author.bsky.social.session"
    path.write_text(content.replace("SERVICE", standin.base_url))
    make().find_published(post())
    assert count(standin, "com.atproto.server.createSession") == 1
    assert stored(state_dir)["session"].count(":::") == 4


def test_session_creation_is_rate_limited_as_on_bluesky(
    standin: FastBluesky, make: Make, tmp_path: Path
) -> None:
    standin.session_limit = 1
    make().find_published(post())
    elsewhere = AdapterContext(env=standin.environment(), state_dir=tmp_path / "other")
    fresh = BlueskyAdapter({"base_url": standin.base_url, "timeout": 0.5}, elsewhere)
    with pytest.raises(errors.RateLimited) as caught:
        fresh.find_published(post())
    assert 290 <= (caught.value.retry_after or 0) <= 301


# -- errors -----------------------------------------------------------------------------
def test_429_carries_the_time_to_the_ratelimit_reset(
    standin: FastBluesky, make: Make, slept: list[float]
) -> None:
    adapter = make()
    ref = adapter.publish(post())
    standin.fail_next(1, "429", retry_after=30)
    with pytest.raises(errors.RateLimited) as caught:
        adapter.fetch_thread(ref)
    assert sum(slept) < 1  # no sleeping on the limit
    assert 28 <= (caught.value.retry_after or 0) <= 31
    assert caught.value.retryable


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_server_errors_are_transient(standin: FastBluesky, make: Make, kind: str) -> None:
    adapter = make()
    ref = adapter.publish(post())
    standin.fail_next(1, kind)
    with pytest.raises(errors.Transient):
        adapter.fetch_thread(ref)
    assert adapter.fetch_thread(ref).post.id == ref.id


def test_a_publish_that_fails_with_500_is_transient_when_nothing_was_written(
    standin: FastBluesky, make: Make
) -> None:
    adapter = make()
    adapter.find_published(post())
    standin.fail_next(1, "500")
    with pytest.raises(errors.Transient):
        adapter.publish(post())
    assert standin.posts_by("author") == []
    assert adapter.publish(post()).id == standin.posts_by("author")[0].id


def test_a_timeout_is_transient_and_quick(standin: FastBluesky, make: Make) -> None:
    adapter = make()
    ref = adapter.publish(post())
    gives_up_quickly(standin, lambda: adapter.fetch_thread(ref), match="no answer")


def test_an_unreachable_server_is_transient(state_dir: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"BLUESKY_HANDLE": "author.bsky.social", "BLUESKY_APP_PASSWORD": PASSWORD}
    adapter = BlueskyAdapter(
        {"base_url": f"http://127.0.0.1:{port}", "timeout": 0.5},
        AdapterContext(env=env, state_dir=state_dir),
    )
    with pytest.raises(errors.Transient, match="connection failed"):
        adapter.find_published(post())


def test_a_deleted_post_is_not_found(standin: FastBluesky, make: Make) -> None:
    adapter = make()
    ref = adapter.publish(post())
    reply = standin.add_reply(ref.id, "bob", "soon gone")
    standin.delete(ref.id)
    with pytest.raises(errors.NotFound, match="NotFound"):
        adapter.fetch_thread(ref)
    standin.delete(reply.id)
    with pytest.raises(errors.NotFound):
        adapter.reply(RemoteRef("bluesky", reply.id, ""), "too late", "late-answer")
    with pytest.raises(errors.NotFound):
        adapter.fetch_thread(RemoteRef("bluesky", "not-an-at-uri", ""))


def test_a_wrong_app_password_fails_without_leaking_it(
    standin: FastBluesky, make: Make, state_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "wrong-SECRET-pass-9f3k"
    adapter = make(env={"BLUESKY_HANDLE": "author.bsky.social", "BLUESKY_APP_PASSWORD": secret})
    with pytest.raises(errors.AuthFailed) as caught:
        adapter.publish(post())
    assert "Invalid identifier or password" in str(caught.value)
    assert "BLUESKY_APP_PASSWORD" in str(caught.value)
    assert secret not in str(caught.value) and secret not in caplog.text
    assert not (state_dir / "bluesky-author.bsky.social.session").exists()
    assert standin.posts_by("author") == []


def test_tokens_and_password_never_reach_errors_or_logs(
    standin: FastBluesky, make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = make()
    ref = adapter.publish(post())
    messages = []
    for kind in ("429", "500", "timeout"):
        standin.fail_next(1, kind)
        with pytest.raises(errors.NetworkError) as caught:
            adapter.fetch_thread(ref)
        messages.append(str(caught.value))
    standin.revoke_sessions()
    env = standin.environment()
    standin.app_password = "changed-on-the-server"  # type: ignore[misc]
    with pytest.raises(errors.AuthFailed) as caught:
        make(env=env).fetch_thread(ref)  # stored session refused, then the password too
    messages.append(str(caught.value))
    secrets = [PASSWORD, *standin.tokens]
    assert len(secrets) >= 3
    for secret in secrets:
        assert secret not in caplog.text
        assert all(secret not in message for message in messages)


# -- the stand-in itself ----------------------------------------------------------------
def test_standin_settings_and_error_shapes(standin: FastBluesky) -> None:
    assert standin.network_options() == {"base_url": standin.base_url}
    env = standin.environment()
    assert env["BLUESKY_HANDLE"] == "author.bsky.social"
    url = f"{standin.base_url}/xrpc/com.atproto.server.createSession"
    wrong = httpx.post(url, json={"identifier": env["BLUESKY_HANDLE"], "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": "AuthenticationRequired",
        "message": "Invalid identifier or password",
    }
    right = httpx.post(
        url, json={"identifier": env["BLUESKY_HANDLE"], "password": env["BLUESKY_APP_PASSWORD"]}
    )
    # A didDoc as bsky.social sends, naming this server as the PDS the SDK moves to.
    assert right.status_code == 200
    assert right.json()["didDoc"]["service"][0]["serviceEndpoint"] == standin.base_url
    standin.fail_next(1, "429", retry_after=12)
    limited = httpx.get(
        f"{standin.base_url}/xrpc/app.bsky.actor.getProfile", params={"actor": "bob.bsky.social"}
    )
    assert limited.status_code == 429
    assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy"} <= set(
        limited.headers
    )
    assert limited.json()["error"] == "RateLimitExceeded"
    missing = httpx.get(
        f"{standin.base_url}/xrpc/app.bsky.feed.getPostThread",
        params={"uri": "at://did:plc:bob/app.bsky.feed.post/3jzfcijpj2z2a"},
    )
    assert missing.status_code == 400 and missing.json()["error"] == "NotFound"


def test_record_html_uses_byte_offsets_and_escapes() -> None:
    text = "שָׁלוֹם 👨‍👩‍👧‍👦 <i>x</i> @bob.bsky.social https://e.org/?a=1&b=2"
    data = text.encode()

    def span(part: str) -> dict[str, int]:
        start = data.index(part.encode())
        return {"byteStart": start, "byteEnd": start + len(part.encode())}

    facets = [
        {
            "index": span("https://e.org/?a=1&b=2"),
            "features": [
                {"$type": "app.bsky.richtext.facet#link", "uri": "https://e.org/?a=1&b=2"}
            ],
        },
        {
            "index": span("@bob.bsky.social"),
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:bob"}],
        },
        {
            "index": span("<i>"),
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "javascript:alert(1)"}],
        },
    ]
    assert record_html(text, facets, "https://bsky.app") == (
        "<p>שָׁלוֹם 👨‍👩‍👧‍👦 &lt;i&gt;x&lt;/i&gt; "
        '<a href="https://bsky.app/profile/did:plc:bob">@bob.bsky.social</a> '
        '<a href="https://e.org/?a=1&amp;b=2">https://e.org/?a=1&amp;b=2</a></p>'
    )
