"""The X adapter: real tweepy ``Client`` against the local X stand-in."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from network_fixtures import errors_of_faults, fails_transiently, gives_up_quickly

from pelican.plugins.engage import errors as failures
from pelican.plugins.engage.model import OutgoingPost, RemoteRef
from pelican.plugins.engage.networks import build_adapter
from pelican.plugins.engage.networks.base import AdapterContext, MemoryMeter
from pelican.plugins.engage.networks.x import API_HOST, XAdapter, _retry_after, weighted_length
from pelican.plugins.engage.sandbox.x import XStandIn

# twitter-text links only known top-level domains ("DO NOT extract invalid URL:
# http://no-tld" in its conformance/extract.yml), so the article lives under .org.
ARTICLE = "https://blog.example.org/2026/why-it-matters.html"
SOME_KEYS = {
    "X_API_KEY": "key",
    "X_API_SECRET": "secret",
    "X_ACCESS_TOKEN": "1-token",
    "X_ACCESS_TOKEN_SECRET": "token-secret",
}


class FastXStandIn(XStandIn):
    timeout_seconds = 1.0  # a "timeout" fault stalls this long; the client gives up sooner


@pytest.fixture
def standin() -> Iterator[XStandIn]:
    with FastXStandIn() as server:
        yield server


def make_adapter(standin: XStandIn, meter: MemoryMeter | None = None, **options: Any) -> XAdapter:
    ctx = AdapterContext(env=standin.environment(), meter=meter or MemoryMeter())
    adapter = build_adapter("x", {**standin.network_options(), "timeout": 0.5, **options}, ctx)
    assert isinstance(adapter, XAdapter)
    return adapter


@pytest.fixture
def adapter(standin: XStandIn) -> Iterator[XAdapter]:
    with make_adapter(standin) as built:
        yield built  # type: ignore[misc]


def post(text: str, **kw: Any) -> OutgoingPost:
    return OutgoingPost(text=text, idempotency_key=f"key-{text[:10]}", **kw)


def now() -> datetime:
    return datetime.now(UTC)


def ref_to(tweet_id: str) -> RemoteRef:
    return RemoteRef("x", tweet_id, f"https://x.com/i/web/status/{tweet_id}")


# -- measuring ---------------------------------------------------------------------------

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Hello", 5, id="ascii"),
        pytest.param("Hi http://test.co", 26, id="short-url-is-23"),
        pytest.param("Read " + ARTICLE + "?utm=" + "x" * 80, 28, id="long-url-is-23"),
        pytest.param(f"Two: {ARTICLE} and {ARTICLE}/", 5 + 23 + 5 + 23, id="two-urls"),
        pytest.param(f"({ARTICLE}).", 1 + 23 + 2, id="punctuation-after-url"),
        pytest.param("see example.com/page", 4 + 23, id="bare-domain"),
        pytest.param("edit setup.cfg or notes.txt", 27, id="file-names-are-not-links"),
        # twitter-text's extract.yml: "Extract short URLs without protocol on ccTLD
        # domains without path" (foo.jp, it.so): a bare ccTLD domain is a link too.
        pytest.param("see foo.de", 4 + 23, id="bare-cctld-domain"),
        pytest.param("mail me@example.com", 19, id="email-is-not-a-link"),
        pytest.param("\U0001f600", 2, id="emoji"),
        pytest.param(FAMILY, 2, id="zwj-family"),
        pytest.param("\U0001f469\U0001f3fd\u200d\U0001f4bb", 2, id="zwj-with-skin-tone"),
        pytest.param("\U0001f44d\U0001f3fd", 2, id="skin-tone"),
        pytest.param("\U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea", 4, id="two-flags"),
        pytest.param(ENGLAND, 2, id="tag-sequence-flag"),
        pytest.param("1\ufe0f\u20e3#\ufe0f\u20e3", 4, id="keycaps"),
        pytest.param("\u00a9 2026 \u00a9\ufe0f", 1 + 6 + 2, id="copyright-text-and-emoji"),
        pytest.param("H\U0001f431\u263a" + FAMILY, 7, id="twitter-text-mix"),
        pytest.param("cafe\u0301 crème", 10, id="combining-acute-composes"),
        pytest.param("q\u0303", 2, id="combining-mark-without-composite"),
        pytest.param("A\ufb2c", 4, id="hebrew-composition-exclusion"),
        pytest.param("שלום עולם", 9, id="hebrew-rtl"),
        pytest.param("مرحبا بالعالم", 13, id="arabic-rtl"),
        pytest.param("\u200fשלום\u200e", 4 + 2 + 2, id="direction-marks-weigh-2"),
        pytest.param(
            "\u2066\u202ahttp://foobar.\u067e\u0627\u06a9\u0633\u062a\u0627\u0646/\u202c\u2069",
            31,
            id="rtl-url-between-isolates",
        ),
        pytest.param("日本語のテキスト", 16, id="cjk-weighs-2"),
        pytest.param("\u2018quoted\u2019 \u2014 dash\u2026", 15 + 2, id="ellipsis-weighs-2"),
    ],
)
def test_measure(text: str, expected: int) -> None:
    adapter = XAdapter({}, AdapterContext(env={}))
    assert adapter.measure(text) == expected


def test_measure_limits_and_offline_construction() -> None:
    ctx = AdapterContext(env={})  # no credentials, no server: plan must still work
    adapter = XAdapter({}, ctx)
    assert adapter.max_length() == 280
    assert XAdapter({"max_length": 25_000}, ctx).max_length() == 25_000
    assert adapter.measure("x" * 257 + " " + ARTICLE) == 281
    assert adapter.measure(FAMILY * 140) == 280
    with pytest.raises(failures.AuthFailed, match="X_API_KEY"):
        adapter.publish(post("needs credentials"))


def test_weighted_length_normalizes_first() -> None:
    assert weighted_length("A\u0301" * 280) == 280


# -- publishing and threads -----------------------------------------------------------------


def test_publish_sends_text_with_oauth(standin: XStandIn, adapter: XAdapter) -> None:
    ref = adapter.publish(post(f"My take on it & more: {ARTICLE}", link=ARTICLE))
    item = standin.items[ref.id]
    assert item.author == "author" and item.parent_id is None
    assert ref.network == "x"
    assert ref.url == f"{standin.base_url}/ada_quill/status/{ref.id}"
    (call,) = standin.calls("POST", r"^/2/tweets$")
    assert call.json() == {"text": f"My take on it & more: {ARTICLE}"}
    auth = call.headers["authorization"]
    assert auth.startswith("OAuth ")
    assert f'oauth_consumer_key="{standin.consumer_key}"' in auth
    assert f'oauth_token="{standin.access_token}"' in auth
    assert "oauth_signature=" in auth
    assert requests.get(ref.url, timeout=2).status_code == 200  # the sandbox web page


def test_thread_replies_under_own_post(standin: XStandIn, adapter: XAdapter) -> None:
    first = adapter.publish(post("First thought", link=ARTICLE))
    second = adapter.publish(post("A follow-up thought", reply_to=first))
    third = adapter.publish(post("And one more", reply_to=second))
    assert standin.items[second.id].parent_id == first.id
    assert standin.items[third.id].parent_id == second.id
    body = standin.calls("POST", r"^/2/tweets$")[1].json()
    assert body == {"text": "A follow-up thought", "reply": {"in_reply_to_tweet_id": first.id}}


def test_fetch_thread_reply_tree_and_counts(standin: XStandIn, adapter: XAdapter) -> None:
    root = adapter.publish(post(f"Commentary {ARTICLE}", link=ARTICLE))
    bob = standin.add_reply(root.id, "bob", "Bob <b>disagrees</b> & says https://bob.example/why")
    carol = standin.add_reply(bob.id, "carol", "Carol answers Bob")
    dave = standin.add_reply(carol.id, "dave", "Dave goes deeper")
    eve = standin.add_reply(root.id, "eve", "@ada_quill Eve on the post\n\nsecond paragraph")
    own = adapter.publish(post("Thanks Eve", reply_to=ref_to(eve.id)))
    gone = standin.add_reply(root.id, "dave", "deleted later")
    hidden = standin.add_reply(root.id, "carol", "hidden by the author")
    standin.delete(gone.id)
    standin.hide(hidden.id)
    standin.like(root.id, "bob", "carol", "dave")
    standin.repost(root.id, "eve")
    standin.quote(root.id)
    standin.like(bob.id, "carol")

    snap = adapter.fetch_thread(root)

    assert snap.complete is True and snap.cursor
    assert (snap.counts.likes, snap.counts.reposts, snap.counts.replies) == (
        3,
        2,
        3,
    )  # X counts hidden replies too
    by_id = {c.ref.id: c for c in snap.comments}
    assert set(by_id) == {bob.id, carol.id, dave.id, eve.id, own.id}
    assert by_id[bob.id].parent_id == root.id
    assert by_id[carol.id].parent_id == bob.id
    assert by_id[dave.id].parent_id == carol.id
    assert by_id[own.id].parent_id == eve.id and by_id[own.id].is_own
    assert not any(by_id[i].is_own for i in (bob.id, carol.id, dave.id, eve.id))
    assert by_id[bob.id].author.handle == "bob" and by_id[bob.id].author.name == "Bob Marsh"
    assert by_id[bob.id].author.avatar and by_id[bob.id].likes == 1
    assert by_id[bob.id].ref.url == f"{standin.base_url}/bob/status/{bob.id}"
    assert by_id[bob.id].html == (
        "<p>Bob &lt;b&gt;disagrees&lt;/b&gt; &amp; says "
        '<a href="https://bob.example/why">bob.example/why</a></p>'
    )
    assert by_id[eve.id].html == "<p>Eve on the post</p><p>second paragraph</p>"
    (search,) = standin.calls("GET", r"/2/tweets/search/recent")
    assert search.arg("query") == f"conversation_id:{root.id} -is:retweet"
    assert "author_id" in (search.arg("expansions") or "")


def test_reply_to_another_accounts_comment(standin: XStandIn, adapter: XAdapter) -> None:
    root = adapter.publish(post("Root post"))
    standin.add_reply(root.id, "bob", "Question from Bob?")
    comment = adapter.fetch_thread(root).comments[0]
    answer = adapter.reply(comment.ref, "Answer to Bob", "answer-1")
    assert standin.items[answer.id].parent_id == comment.ref.id
    assert standin.items[answer.id].author == "author"
    snap = adapter.fetch_thread(root)
    (mine,) = [c for c in snap.comments if c.is_own]
    assert mine.parent_id == comment.ref.id


def test_fetch_from_a_follow_up_returns_its_subtree(standin: XStandIn, adapter: XAdapter) -> None:
    root = adapter.publish(post("Root"))
    follow = adapter.publish(post("Follow-up", reply_to=root))
    standin.add_reply(root.id, "bob", "on the root")
    under = standin.add_reply(follow.id, "carol", "on the follow-up")
    deeper = standin.add_reply(under.id, "dave", "deeper")
    snap = adapter.fetch_thread(follow)
    assert [c.ref.id for c in snap.comments] == [under.id, deeper.id]
    assert snap.comments[0].parent_id == follow.id


def test_edited_reply_keeps_its_id(standin: XStandIn, adapter: XAdapter) -> None:
    root = adapter.publish(post("Root"))
    bob = standin.add_reply(root.id, "bob", "first version")
    carol = standin.add_reply(bob.id, "carol", "under Bob")
    standin.edit(bob.id, "second version")
    by_id = {c.ref.id: c for c in adapter.fetch_thread(root).comments}
    assert by_id[bob.id].html == "<p>second version</p>"
    assert by_id[bob.id].edited_at is not None
    assert abs((by_id[bob.id].created_at - bob.created_at).total_seconds()) < 1
    assert by_id[carol.id].parent_id == bob.id


def test_search_window_makes_old_threads_incomplete(standin: XStandIn, adapter: XAdapter) -> None:
    old = standin.add_post("author", "an old post", created_at=now() - timedelta(days=8))
    standin.add_reply(old.id, "bob", "an old reply", created_at=now() - timedelta(days=8))
    recent = standin.add_reply(
        old.id, "carol", "a recent reply", created_at=now() - timedelta(days=1)
    )
    snap = adapter.fetch_thread(ref_to(old.id))
    assert [c.ref.id for c in snap.comments] == [recent.id]
    assert snap.complete is False  # the old reply is out of reach, not deleted


def test_pagination_is_followed_and_bounded(standin: XStandIn) -> None:
    root = standin.add_post("author", "a popular post")
    for n in range(120):
        standin.add_reply(root.id, ("bob", "carol", "dave", "eve")[n % 4], f"reply {n}")
    with make_adapter(standin) as adapter:
        snap = adapter.fetch_thread(ref_to(root.id))
    assert len(snap.comments) == 120 and snap.complete
    assert len(standin.calls("GET", r"search/recent")) == 2
    with make_adapter(standin, max_search_pages=1) as adapter:
        snap = adapter.fetch_thread(ref_to(root.id))
    assert len(snap.comments) == 100 and not snap.complete


def test_cursor_fetches_only_new_replies(standin: XStandIn, adapter: XAdapter) -> None:
    root = adapter.publish(post("Root"))
    standin.add_reply(root.id, "bob", "early")
    first = adapter.fetch_thread(root)
    late = standin.add_reply(root.id, "carol", "late")
    second = adapter.fetch_thread(root, cursor=first.cursor)
    assert [c.ref.id for c in second.comments] == [late.id]
    assert second.complete is False and second.cursor == late.id
    assert standin.calls("GET", r"search/recent")[-1].arg("since_id") == first.cursor


# -- duplicates and the spending guard ----------------------------------------------------------


@pytest.mark.parametrize("threaded", [False, True])
def test_lost_answer_then_duplicate_resolves_to_existing(
    standin: XStandIn, adapter: XAdapter, threaded: bool
) -> None:
    parent = adapter.publish(post("Thread start")) if threaded else None
    outgoing = post(f"Syndicated once {ARTICLE}", link=ARTICLE, reply_to=parent, created_at=now())
    standin.lose_next_response()
    with pytest.raises(failures.Transient):
        adapter.publish(outgoing)  # the tweet exists, but we never heard back
    before = standin.posts_by("author")
    ref = adapter.publish(outgoing)  # retry: X says 403 duplicate content
    after = standin.posts_by("author")
    assert len(after) == len(before)
    assert ref.id == after[-1].id
    assert standin.calls("GET", r"^/2/users/\d+/tweets$")


def test_duplicate_of_an_older_tweet_raises(standin: XStandIn, adapter: XAdapter) -> None:
    standin.add_post("author", "Same words again", created_at=now() - timedelta(hours=20))
    with pytest.raises(failures.Duplicate, match="duplicate content"):
        adapter.publish(post("Same words again", created_at=now()))


def test_find_published_by_link_and_thread(standin: XStandIn, adapter: XAdapter) -> None:
    root = adapter.publish(post(f"Original wording {ARTICLE}", link=ARTICLE))
    follow = adapter.publish(post("Later thought", reply_to=root))
    found = adapter.find_published(post(f"Reworded since {ARTICLE}", link=ARTICLE))
    assert found is not None and found.id == root.id
    assert adapter.find_published(post("Later thought", reply_to=root)) == follow
    assert adapter.find_published(post("Later thought")) is None  # not a reply: no match
    assert adapter.find_published(post("never posted", link="https://else.example/")) is None


def test_post_budget_stops_the_next_post(standin: XStandIn) -> None:
    meter = MemoryMeter()
    with make_adapter(standin, meter, max_posts_per_day=2) as adapter:
        adapter.publish(post("one"))
        adapter.publish(post("two"))
        with pytest.raises(failures.BudgetExceeded, match="max_posts_per_day"):
            adapter.publish(post("three"))
    assert len(standin.calls("POST", r"^/2/tweets$")) == 2
    assert meter.used("x", "posts") == 2


def test_read_budget_stops_reads(standin: XStandIn) -> None:
    root = standin.add_post("author", "root")
    with (
        make_adapter(standin, max_reads_per_day=2) as adapter,
        pytest.raises(failures.BudgetExceeded),
    ):
        adapter.fetch_thread(ref_to(root.id))  # tweet, search, then me
    assert len(standin.calls("GET")) == 2


def test_budget_persists_across_adapters(standin: XStandIn) -> None:
    meter = MemoryMeter()
    with make_adapter(standin, meter, max_posts_per_day=1) as adapter:
        adapter.publish(post("only one today"))
    with (
        make_adapter(standin, meter, max_posts_per_day=1) as adapter,
        pytest.raises(failures.BudgetExceeded),
    ):
        adapter.publish(post("another"))


# -- errors --------------------------------------------------------------------------------


def test_rate_limit_carries_retry_time(
    standin: XStandIn, adapter: XAdapter, slept: list[float]
) -> None:
    standin.fail_next(1, "429", retry_after=30)
    with pytest.raises(failures.RateLimited) as caught:
        adapter.publish(post("too fast"))
    assert caught.value.retry_after is not None and 28 <= caught.value.retry_after <= 31
    root = standin.add_post("author", "root")
    standin.fail_next(1, "429", retry_after=600)
    with pytest.raises(failures.RateLimited) as caught:
        adapter.fetch_thread(ref_to(root.id))
    assert caught.value.retry_after is not None and 598 <= caught.value.retry_after <= 601
    assert sum(slept) < 1  # never slept on the window


def test_daily_cap_headers_win() -> None:
    soon, tomorrow = time.time() + 60, time.time() + 20 * 3600
    headers = {
        "x-rate-limit-remaining": "12",
        "x-rate-limit-reset": str(int(soon)),
        "x-user-limit-24hour-remaining": "0",
        "x-user-limit-24hour-reset": str(int(tomorrow)),
    }
    wait = _retry_after(headers)
    assert wait is not None and 20 * 3600 - 2 <= wait <= 20 * 3600


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_server_errors_are_transient(standin: XStandIn, adapter: XAdapter, kind: str) -> None:
    fails_transiently(standin, kind, lambda: adapter.publish(post("server trouble")), match=kind)


def test_timeout_is_transient_and_quick(standin: XStandIn, adapter: XAdapter) -> None:
    gives_up_quickly(standin, lambda: adapter.publish(post("slow")))


def test_connection_refused_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = SOME_KEYS
    adapter = XAdapter(
        {"base_url": f"http://127.0.0.1:{port}", "timeout": 0.5}, AdapterContext(env)
    )
    with pytest.raises(failures.Transient):
        adapter.publish(post("nobody home"))


def test_deleted_and_unknown_tweets_are_not_found(standin: XStandIn, adapter: XAdapter) -> None:
    root = adapter.publish(post("soon gone"))
    standin.delete(root.id)
    with pytest.raises(failures.NotFound, match="Could not find tweet"):
        adapter.fetch_thread(root)
    with pytest.raises(failures.NotFound):
        adapter.fetch_thread(ref_to("1234567890123456789"))
    with pytest.raises(failures.NotFound, match="deleted or not visible"):
        adapter.reply(root, "answer to nothing", "k")


def test_other_refusals(standin: XStandIn, adapter: XAdapter) -> None:
    root = standin.add_post("bob", "Bob only talks to friends")
    standin.restrict_replies(root.id)
    with pytest.raises(failures.NetworkError, match="not allowed") as caught:
        adapter.reply(ref_to(root.id), "may I?", "k")
    assert not isinstance(
        caught.value, failures.AuthFailed | failures.Duplicate | failures.NotFound
    )
    standin.read_only = True
    with pytest.raises(failures.AuthFailed, match="permissions"):
        adapter.publish(post("an app without write access"))


def test_bad_token_is_auth_failed(standin: XStandIn) -> None:
    env = {**standin.environment(), "X_ACCESS_TOKEN": "1400-wrong-token"}
    adapter = XAdapter(standin.network_options(), AdapterContext(env))
    with pytest.raises(failures.AuthFailed, match="401"):
        adapter.publish(post("hello"))
    assert standin.posts_by("author") == []


def test_credentials_never_in_errors_or_logs(
    standin: XStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    standin.consumer_key = "CONSUMER-KEY-c0ffee"
    standin.consumer_secret = "CONSUMER-SECRET-c0ffee"
    standin.access_token = "1400-ACCESS-TOKEN-c0ffee"
    standin.access_token_secret = "ACCESS-SECRET-c0ffee"
    secrets = list(standin.environment().values())
    caplog.set_level(logging.DEBUG)
    with make_adapter(standin) as adapter:
        root = adapter.publish(post("a post"))
        faults = ("429", "500", "timeout")
        errors = errors_of_faults(standin, lambda: adapter.fetch_thread(root), faults, root.id)
    bad_env = {**standin.environment(), "X_ACCESS_TOKEN": "1400-WRONG-TOKEN-c0ffee"}
    secrets.append(bad_env["X_ACCESS_TOKEN"])
    wrong = XAdapter(standin.network_options(), AdapterContext(bad_env))
    with pytest.raises(failures.AuthFailed) as denied:
        wrong.publish(post("hello"))
    errors.append(denied.value)
    assert "Authorization" in caplog.text or "oauth" in caplog.text.lower()  # DEBUG reached us
    for error in errors:
        for secret in secrets:
            assert secret not in str(error)
    for secret in secrets:
        assert secret not in caplog.text


# -- transport ---------------------------------------------------------------------------------


def test_real_host_is_not_rewritten_and_timeout_is_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, Any]] = []

    def fake_send(self: Any, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        seen.append((request.url or "", kwargs.get("timeout")))
        raise requests.ConnectionError("offline")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", fake_send)
    env = SOME_KEYS
    adapter = XAdapter({"timeout": 3}, AdapterContext(env))
    with pytest.raises(failures.Transient):
        adapter.publish(post("to the real host"))
    assert seen == [(f"{API_HOST}/2/tweets", 3.0)]


def test_standin_rejects_requests_without_oauth(standin: XStandIn) -> None:
    answer = requests.get(f"{standin.base_url}/2/users/me", timeout=2)
    assert answer.status_code == 401
    assert answer.json()["title"] == "Unauthorized"
    standin.fail_next(1, "429", retry_after=5)
    limited = requests.get(f"{standin.base_url}/2/users/me", timeout=2)
    assert limited.status_code == 429
    assert limited.headers["x-rate-limit-remaining"] == "0"
    assert int(limited.headers["x-rate-limit-reset"]) >= int(time.time())
