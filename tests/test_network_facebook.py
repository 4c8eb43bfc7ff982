"""The Facebook adapter (Graph API over httpx) against the Graph API stand-in."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from network_fixtures import (
    cleared_fixtures,
    errors_of_faults,
    fails_transiently,
    gives_up_quickly,
    open_adapter,
    reply_chain,
    standin_options,
)

from pelican.plugins.engage import errors as failures
from pelican.plugins.engage.networks.base import AdapterContext, OutgoingPost, RemoteRef
from pelican.plugins.engage.networks.facebook import (
    FacebookAdapter,
    classify_graph_error,
    graph_error_text,
    usage_retry_after,
)
from pelican.plugins.engage.sandbox.facebook import FacebookStandIn

TOKEN = "EAAGfbPAGEtokenSECRET9876"
ARTICLE = "https://blog.example/posts/why-it-matters/"


server, standin = cleared_fixtures(
    FacebookStandIn,
    timeout_seconds=1.0,
    page_token=TOKEN,
    rate_limit_status=403,
    moderate_task=True,
    read_engagement=True,
)


@pytest.fixture
def adapter(standin: FacebookStandIn) -> Iterator[FacebookAdapter]:
    ctx = AdapterContext(env=standin.environment())
    yield from open_adapter(FacebookAdapter, standin_options(standin), ctx)


def post(text: str = "My take: read this https://blog.example/p", **kw: object) -> OutgoingPost:
    return OutgoingPost(text=text, idempotency_key="key-1", link=kw.pop("link", ARTICLE), **kw)  # type: ignore[arg-type]


# -- construction -------------------------------------------------------------------
def test_page_id_is_required() -> None:
    with pytest.raises(failures.ConfigError, match=r"ENGAGE_NETWORKS\['facebook'\]\['page_id'\]"):
        FacebookAdapter({}, AdapterContext(env={}))


def test_construction_needs_no_network_and_no_credentials(standin: FacebookStandIn) -> None:
    adapter = FacebookAdapter(standin.network_options(), AdapterContext(env={}))
    assert adapter.measure("hello") == 5 and adapter.max_length() == 63206
    assert standin.requests == []
    with pytest.raises(failures.AuthFailed, match="FACEBOOK_PAGE_ACCESS_TOKEN"):
        adapter.publish(post())
    assert standin.requests == []


def test_default_base_url_is_the_graph_api() -> None:
    adapter = FacebookAdapter({"page_id": "1"}, AdapterContext(env={}))
    assert adapter.base_url == "https://graph.facebook.com/v21.0"


# -- publishing ---------------------------------------------------------------------
def test_publish_posts_message_and_link_to_the_page_feed(
    standin: FacebookStandIn, adapter: FacebookAdapter
) -> None:
    ref = adapter.publish(post())
    [call] = standin.calls("POST", r"/feed$")
    assert call.path == f"/v21.0/{standin.page.id}/feed"
    assert call.form() == {"message": "My take: read this https://blog.example/p", "link": ARTICLE}
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.headers["user-agent"].startswith("pelican-engage/0.1")
    assert "access_token" not in call.query
    [item] = standin.posts_by("author")
    assert ref.id == item.id and ref.id.startswith(f"{standin.page.id}_")
    assert ref.url == f"https://www.facebook.com/{ref.id}"


def test_thread_reply_lands_under_our_own_post(
    standin: FacebookStandIn, adapter: FacebookAdapter
) -> None:
    first = adapter.publish(post())
    follow = adapter.publish(post("And one more thought.", link=None, reply_to=first))
    [call] = standin.calls("POST", r"/comments$")
    assert call.path == f"/v21.0/{first.id}/comments"
    assert call.form() == {"message": "And one more thought."}
    assert standin.items[follow.id].parent_id == first.id
    snapshot = adapter.fetch_thread(first)
    [mine] = snapshot.comments
    assert mine.ref.id == follow.id and mine.parent_id == first.id and mine.is_own
    assert mine.author.url == f"https://www.facebook.com/{standin.page.id}"


def test_duplicate_post_is_reported_as_duplicate(adapter: FacebookAdapter) -> None:
    adapter.publish(post())
    with pytest.raises(failures.Duplicate, match="506"):
        adapter.publish(post())


def test_find_published_recovers_a_post_after_a_crash(
    standin: FacebookStandIn, adapter: FacebookAdapter
) -> None:
    standin.add_post("author", "An older post")
    ref = adapter.publish(post())
    found = adapter.find_published(post())
    assert found is not None and found.id == ref.id
    # Facebook may rewrite the text; the link then identifies a recent post.
    reworded = post("Reworded", created_at=datetime.now(UTC))
    found = adapter.find_published(reworded)
    assert found is not None and found.id == ref.id
    assert adapter.find_published(post("Never posted", link="https://elsewhere.example/")) is None
    follow = adapter.publish(post("Follow-up", link=None, reply_to=ref))
    found = adapter.find_published(post("Follow-up", link=None, reply_to=ref))
    assert found is not None and found.id == follow.id
    assert adapter.find_published(post("Not there", link=None, reply_to=ref)) is None


# -- reading ------------------------------------------------------------------------
def test_fetch_thread_reads_the_whole_reply_tree_with_counts(
    standin: FacebookStandIn, adapter: FacebookAdapter
) -> None:
    ref = adapter.publish(post())
    bob, carol, dave = reply_chain(
        standin,
        ref.id,
        ("bob", "Interesting <b>take</b> & more\n\nSecond para"),
        ("carol", "Replying to Bob"),
        ("dave", "Replying to Carol"),
    )
    eve = standin.add_reply(ref.id, "eve", "Top-level from Eve")
    hidden = standin.add_reply(ref.id, "eve", "spam")
    standin.hide(hidden.id)
    standin.add_reply(hidden.id, "bob", "answer to spam")  # goes with its hidden parent
    gone = standin.add_reply(ref.id, "carol", "deleted soon")
    standin.delete(gone.id)
    standin.like(ref.id, "bob", "carol", "dave")
    standin.repost(ref.id, "eve", "bob")
    standin.like(bob.id, "carol")

    snapshot = adapter.fetch_thread(ref)

    by_id = {c.ref.id: c for c in snapshot.comments}
    assert list(by_id) == [bob.id, carol.id, dave.id, eve.id]
    assert by_id[bob.id].parent_id == ref.id
    assert by_id[carol.id].parent_id == bob.id
    assert by_id[dave.id].parent_id == carol.id
    assert by_id[eve.id].parent_id == ref.id
    assert {c.author.name for c in snapshot.comments} == {
        "Bob Marsh",
        "Carol Nguyen",
        "Dave Okafor",
        "Eve Adler",
    }
    assert not any(c.is_own for c in snapshot.comments)
    assert (
        by_id[bob.id].html
        == "<p>Interesting &lt;b&gt;take&lt;/b&gt; &amp; more</p><p>Second para</p>"
    )
    assert by_id[bob.id].likes == 1
    assert by_id[bob.id].author.handle == standin.accounts["bob"].id
    assert by_id[bob.id].author.avatar and by_id[bob.id].author.url == ""
    assert by_id[bob.id].created_at == bob.created_at.replace(microsecond=0)
    local = {c.id: c.id.split("_")[1] for c in (bob, carol)}
    assert by_id[carol.id].ref.url.endswith(
        f"?comment_id={local[bob.id]}&reply_comment_id={local[carol.id]}"
    )
    assert snapshot.counts.likes == 3 and snapshot.counts.reposts == 2
    assert snapshot.counts.replies == 4
    assert snapshot.complete
    [stream] = standin.calls("GET", r"/comments$")
    assert stream.query["filter"] == ["stream"] and "parent{id}" in stream.query["fields"][0]


def test_comment_paging_follows_cursors_and_is_bounded(standin: FacebookStandIn) -> None:
    ref = RemoteRef("facebook", standin.add_post("author", "Busy post").id, "")
    for n in range(230):
        standin.add_reply(ref.id, "bob" if n % 2 else "carol", f"comment {n}")
    options = {**standin.network_options(), "timeout": 0.5}
    with FacebookAdapter(options, AdapterContext(env=standin.environment())) as adapter:
        snapshot = adapter.fetch_thread(ref)
    assert len(snapshot.comments) == 230 and snapshot.complete
    pages = standin.calls("GET", r"/comments$")
    assert len(pages) == 3 and "after" not in pages[0].query and pages[1].query["after"]
    assert all("access_token" not in p.query for p in pages)

    bounded = FacebookAdapter(
        {**options, "max_comment_pages": 2}, AdapterContext(env=standin.environment())
    )
    snapshot = bounded.fetch_thread(ref)
    assert len(snapshot.comments) == 200 and not snapshot.complete
    assert snapshot.counts.replies == 230  # from the summary when the read stopped early
    bounded.close()


@pytest.mark.parametrize(
    ("withheld", "fix"),
    [
        ("from", "use a Page access token with the pages_read_engagement permission"),
        ("id", "the token must come from a user who has the MODERATE task on the Page"),
        ("both", "pages_read_engagement permission, from a user who has the MODERATE task"),
    ],
)
def test_comments_without_ids_or_authors_fail_the_read_naming_the_fix(
    standin: FacebookStandIn, adapter: FacebookAdapter, withheld: str, fix: str
) -> None:
    """Real Graph rows lack them without the Page task/permission (see the recordings)."""
    ref = adapter.publish(post())
    bob = reply_chain(standin, ref.id, ("bob", "Hello"), ("carol", "Hi Bob"))[0]
    standin.moderate_task = withheld not in ("id", "both")
    standin.read_engagement = withheld not in ("from", "both")
    with pytest.raises(failures.AuthFailed) as caught:
        adapter.fetch_thread(ref)
    assert str(caught.value).startswith("facebook: 2 of 2 comments came without their ")
    assert fix in str(caught.value)
    assert "so nothing was changed" in str(caught.value)
    # Recovering a reply after a crash must not take "no author seen" for "not posted".
    mine = OutgoingPost(
        text="Thanks", idempotency_key="k", reply_to=RemoteRef("facebook", bob.id, "")
    )
    standin.add_reply(bob.id, "author", "Thanks")
    with pytest.raises(failures.AuthFailed):
        adapter.find_published(mine)


def test_long_graph_messages_keep_the_code_and_trace_id() -> None:
    body = {
        "error": {"message": "x" * 600, "type": "OAuthException", "code": 100, "fbtrace_id": "T1"}
    }
    text = graph_error_text(httpx.Response(400, json=body)) or ""
    assert text.endswith("… (code 100, fbtrace_id T1)") and len(text) < 300


def test_reply_to_another_accounts_comment_lands_under_it(
    standin: FacebookStandIn, adapter: FacebookAdapter
) -> None:
    ref = adapter.publish(post())
    carol = reply_chain(standin, ref.id, ("bob", "Question?"), ("carol", "Me too"))[-1]
    answer = adapter.reply(RemoteRef("facebook", carol.id, ""), "Here is the answer", "key-2")
    assert standin.items[answer.id].parent_id == carol.id
    assert standin.items[answer.id].author == "author"
    [call] = standin.calls("POST", r"/comments$")
    assert call.path == f"/v21.0/{carol.id}/comments"
    [ours] = [c for c in adapter.fetch_thread(ref).comments if c.is_own]
    assert ours.ref.id == answer.id and ours.parent_id == carol.id


# -- errors -------------------------------------------------------------------------
@pytest.mark.parametrize("status", [400, 403, 429])
def test_rate_limit_carries_the_time_from_the_usage_headers(
    standin: FacebookStandIn, adapter: FacebookAdapter, status: int, slept: list[float]
) -> None:
    standin.rate_limit_status = status  # type: ignore[misc]
    standin.fail_next(1, "429", retry_after=150)  # Facebook counts minutes: 3
    with pytest.raises(failures.RateLimited) as caught:
        adapter.publish(post())
    assert caught.value.retry_after == 180.0
    assert "(#32)" in str(caught.value)
    assert sum(slept) < 1  # no sleeping on the limit


@pytest.mark.parametrize("kind", ["500", "503"])
def test_server_errors_are_transient(
    standin: FacebookStandIn, adapter: FacebookAdapter, kind: str
) -> None:
    fails_transiently(standin, kind, lambda: adapter.publish(post()), match=kind)
    assert adapter.publish(post()).id  # the next call goes through


def test_timeout_is_transient_and_quick(standin: FacebookStandIn, adapter: FacebookAdapter) -> None:
    ref = adapter.publish(post())
    gives_up_quickly(standin, lambda: adapter.fetch_thread(ref), match="timed out")


def test_connection_refused_is_transient() -> None:
    options = {"base_url": "http://127.0.0.1:9", "page_id": "1", "timeout": 0.5}
    with (
        FacebookAdapter(
            options, AdapterContext(env={"FACEBOOK_PAGE_ACCESS_TOKEN": TOKEN})
        ) as adapter,
        pytest.raises(failures.Transient) as caught,
    ):
        adapter.fetch_thread(RemoteRef("facebook", "1_1", ""))
    assert TOKEN not in str(caught.value)


def test_deleted_post_and_comment_are_not_found(
    standin: FacebookStandIn, adapter: FacebookAdapter
) -> None:
    ref = adapter.publish(post())
    bob = standin.add_reply(ref.id, "bob", "hi")
    standin.delete(bob.id)
    with pytest.raises(failures.NotFound, match="does not exist"):
        adapter.reply(RemoteRef("facebook", bob.id, ""), "too late", "k")
    standin.delete(ref.id)
    with pytest.raises(failures.NotFound):
        adapter.fetch_thread(ref)


def test_bad_token_is_auth_failed_and_never_shown(
    standin: FacebookStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "EAAGwrongTOKENvalue1234"
    options = {**standin.network_options(), "timeout": 0.5}
    adapter = FacebookAdapter(options, AdapterContext(env={"FACEBOOK_PAGE_ACCESS_TOKEN": wrong}))
    with pytest.raises(failures.AuthFailed, match="190") as caught:
        adapter.publish(post())
    assert wrong not in str(caught.value)
    adapter.close()
    assert standin.requests[-1].headers["authorization"] == f"Bearer {wrong}"
    assert wrong not in caplog.text


def test_token_never_appears_in_errors_or_logs(
    standin: FacebookStandIn, adapter: FacebookAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ref = adapter.publish(post())
    errors = errors_of_faults(
        standin, lambda: adapter.fetch_thread(ref), ("429", "500", "503", "timeout"), ref.id
    )
    for error in errors:
        assert TOKEN not in str(error) and TOKEN not in repr(error.__cause__)
    assert TOKEN not in caplog.text
    assert "HTTP Request" in caplog.text  # httpx logged, without the token


def test_error_codes_map_without_a_stand_in() -> None:
    def answer(
        status: int, code: int, subcode: int | None = None, headers: dict[str, str] | None = None
    ) -> failures.NetworkError | None:
        body: dict[str, object] = {"message": "m", "type": "OAuthException", "code": code}
        if subcode:
            body["error_subcode"] = subcode
        request = httpx.Request("GET", "https://graph.facebook.com/v21.0/1")
        response = httpx.Response(
            status, json={"error": body}, headers=headers or {}, request=request
        )
        return classify_graph_error("facebook", response, "msg")

    for code in (4, 17, 32, 613, 80001):
        limited = answer(400, code)
        assert isinstance(limited, failures.RateLimited) and limited.retry_after == 60.0
    page = {"call_count": 100, "estimated_time_to_regain_access": 7}
    page_usage = answer(403, 4, headers={"X-Page-Usage": json.dumps(page)})
    assert isinstance(page_usage, failures.RateLimited) and page_usage.retry_after == 420.0
    # Without usage headers: Retry-After in any form (the one parser), else the default.
    date = "Tue, 01 Dec 2026 10:00:00 GMT"
    dated = answer(400, 4, headers={"Retry-After": "Tue, 01 Dec 2026 10:02:00 GMT", "Date": date})
    assert isinstance(dated, failures.RateLimited) and dated.retry_after == 120.0
    delta = answer(429, 17, headers={"Retry-After": "30"})
    assert isinstance(delta, failures.RateLimited) and delta.retry_after == 30.0
    assert isinstance(answer(400, 190, 463), failures.AuthFailed)
    assert isinstance(answer(403, 200), failures.AuthFailed)
    assert isinstance(answer(400, 100, 33), failures.NotFound)
    assert answer(400, 100) is None  # a plain bad parameter stays a plain NetworkError
    assert isinstance(answer(400, 506), failures.Duplicate)
    assert isinstance(answer(500, 1), failures.Transient) and isinstance(
        answer(503, 2), failures.Transient
    )


def test_usage_headers_take_the_longest_wait() -> None:
    usage = {
        "1": [{"type": "pages", "estimated_time_to_regain_access": 2}],
        "2": [{"type": "pages", "estimated_time_to_regain_access": 5}],
    }
    headers = {
        "X-Business-Use-Case-Usage": json.dumps(usage),
        "X-App-Usage": '{"call_count": 100}',
    }
    response = httpx.Response(403, headers=headers)
    assert usage_retry_after(response) == 300.0
    assert usage_retry_after(httpx.Response(403, headers={"X-App-Usage": "not json"})) is None


# -- length -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://blog.example/posts/a-very-long-article-slug-that-goes-on/?utm=1", 71),
        ("Read: https://blog.example/p", 28),
        ("👍", 1),
        ("👨\u200d👩\u200d👧\u200d👦", 7),  # a family: four people joined by three ZWJs
        ("🇫🇷🇩🇪", 4),  # two flags, two regional indicators each
        ("e\u0301", 2),  # e + combining acute
        ("שלום עולם", 9),  # right-to-left Hebrew
        ("مرحبا https://blog.example/p", 28),
    ],
)
def test_measure_counts_code_points(text: str, expected: int) -> None:
    adapter = FacebookAdapter({"page_id": "1"}, AdapterContext(env={}))
    assert adapter.measure(text) == expected == len(text)


def test_max_length_default_and_override() -> None:
    assert FacebookAdapter({"page_id": "1"}, AdapterContext(env={})).max_length() == 63206
    small = FacebookAdapter({"page_id": "1", "max_length": 500}, AdapterContext(env={}))
    assert small.max_length() == 500
    with pytest.raises(failures.ConfigError, match="max_length"):
        FacebookAdapter({"page_id": "1", "max_length": "lots"}, AdapterContext(env={}))
