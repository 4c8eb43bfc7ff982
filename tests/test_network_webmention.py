"""The webmention adapter: reading webmention.io's JF2 API and sending webmentions."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import formatdate

import pytest
from network_fixtures import (
    CODE_POINT_TEXTS,
    adapter_of,
    cleared_fixtures,
    fails_transiently,
    gives_up_quickly,
    refuses_to_post,
    standin_options,
)

from pelican.plugins.engage import errors
from pelican.plugins.engage.http_client import is_private_host
from pelican.plugins.engage.networks.base import AdapterContext, RemoteRef
from pelican.plugins.engage.networks.webmention import WebmentionAdapter, parse_link_header
from pelican.plugins.engage.sandbox.base import Response
from pelican.plugins.engage.sandbox.webmention import PAGES, WebmentionStandIn

TOKEN = "wmTOKENsecret-5a7b9c"
ARTICLE = "https://blog.example/posts/why-it-matters/"
SOURCE = "https://blog.example/posts/a-reply-elsewhere/"


server, standin = cleared_fixtures(
    WebmentionStandIn, timeout_seconds=1.0, also=["received"], token=TOKEN, receive_status=202
)


def make_adapter(
    standin: WebmentionStandIn, env: dict[str, str] | None = None, **options: object
) -> WebmentionAdapter:
    # The stand-in's pages play strangers' sites on 127.0.0.1: allowed as on a LAN deployment.
    merged = standin_options(standin, **{"allow_private_addresses": True, **options})
    ctx = AdapterContext(env=standin.environment() if env is None else env)
    return adapter_of(WebmentionAdapter, merged, ctx)


@pytest.fixture
def adapter(standin: WebmentionStandIn) -> Iterator[WebmentionAdapter]:
    with make_adapter(standin) as built:
        yield built


ARTICLE_REF = RemoteRef("webmention", ARTICLE, ARTICLE)


# -- reading --------------------------------------------------------------------------
def test_full_read_returns_replies_and_mentions_with_counts(
    standin: WebmentionStandIn, adapter: WebmentionAdapter
) -> None:
    bob = standin.add_mention(ARTICLE, author="bob", text="I <3 this & that")
    carol = standin.add_reply(bob.id, "carol", "Replying to Bob")
    dave = standin.add_reply(carol.id, "dave", "Replying to Carol")
    eve = standin.add_mention(
        ARTICLE, "mention-of", author="eve", html="<p>I wrote <a href='x'>about it</a></p>"
    )
    secret = standin.add_mention(ARTICLE, author="dave", text="for your eyes only", private=True)
    standin.like(ARTICLE, "bob", "carol")
    standin.repost(ARTICLE, "dave")
    standin.add_mention("https://blog.example/other/", author="bob", text="elsewhere")

    snapshot = adapter.fetch_thread(ARTICLE_REF)

    by_id = {c.ref.id: c for c in snapshot.comments}
    assert list(by_id) == [bob.id, carol.id, dave.id, eve.id]
    assert secret.id not in by_id
    assert by_id[bob.id].parent_id == ARTICLE and by_id[bob.id].kind == "reply"
    # webmention.io names the article in in-reply-to even for replies to replies (see
    # test_conformance_webmention.py): the adapter keeps them flat, never loses them.
    assert by_id[carol.id].parent_id == ARTICLE and by_id[carol.id].kind == "reply"
    assert by_id[dave.id].parent_id == ARTICLE and by_id[dave.id].kind == "reply"
    assert by_id[eve.id].parent_id == ARTICLE and by_id[eve.id].kind == "mention"
    assert by_id[bob.id].html == "<p>I &lt;3 this &amp; that</p>"  # content.text, escaped
    assert by_id[eve.id].html == "<p>I wrote <a href='x'>about it</a></p>"
    author = by_id[bob.id].author
    assert (author.name, author.handle, author.url) == (
        "Bob Marsh",
        "bob.example",
        "https://bob.example/",
    )
    assert author.avatar and author.avatar.startswith("https://avatars.webmention.io/")
    assert by_id[bob.id].ref.url == f"https://bob.example/notes/{bob.id}"
    assert by_id[bob.id].created_at == bob.created_at.replace(microsecond=0)
    assert snapshot.counts.likes == 2 and snapshot.counts.reposts == 1
    assert snapshot.counts.replies == 3
    assert snapshot.complete
    newest = max(int(m.id) for m in standin.mentions() if m.extra["target"] == ARTICLE)
    assert snapshot.cursor == str(newest)

    [call] = standin.calls("GET", r"/api/mentions\.jf2$")
    assert call.query["target"] == [ARTICLE] and call.query["token"] == [TOKEN]
    assert call.query["per-page"] == ["100"] and call.query["page"] == ["0"]
    assert call.query["sort-dir"] == ["up"] and "since_id" not in call.query


def test_published_time_is_preferred_to_the_time_received(
    standin: WebmentionStandIn, adapter: WebmentionAdapter
) -> None:
    standin.add_mention(ARTICLE, text="plain <text>", published="2026-03-01T09:30:00-05:00")
    snapshot = adapter.fetch_thread(ARTICLE_REF)
    [comment] = snapshot.comments
    assert comment.created_at == datetime(2026, 3, 1, 14, 30, tzinfo=UTC)
    assert comment.html == "<p>plain &lt;text&gt;</p>"


def test_incremental_read_uses_since_id_and_is_incomplete(
    standin: WebmentionStandIn, adapter: WebmentionAdapter
) -> None:
    first = standin.add_mention(ARTICLE, author="bob", text="first")
    standin.like(ARTICLE, "carol")
    full = adapter.fetch_thread(ARTICLE_REF)
    assert full.complete and full.cursor is not None

    second = standin.add_mention(ARTICLE, author="dave", text="second")
    standin.edit(first.id, "first, edited")  # same wm-id: invisible to an incremental read
    delta = adapter.fetch_thread(ARTICLE_REF, full.cursor)

    assert [c.ref.id for c in delta.comments] == [second.id]
    assert not delta.complete
    assert delta.cursor == second.id
    assert (delta.counts.likes, delta.counts.replies) == (1, 2)  # totals, from the count API
    since = standin.calls("GET", r"/api/mentions\.jf2$")[-1]
    assert since.query["since_id"] == [full.cursor]
    assert standin.calls("GET", r"/api/count")[-1].query["target"] == [ARTICLE]

    nothing_new = adapter.fetch_thread(ARTICLE_REF, delta.cursor)
    assert nothing_new.comments == [] and nothing_new.cursor == delta.cursor

    standin.delete(second.id)
    again = adapter.fetch_thread(ARTICLE_REF)  # the periodic full read sees edits and deletions
    assert again.complete
    assert [(c.ref.id, c.html) for c in again.comments] == [(first.id, "<p>first, edited</p>")]


def test_a_new_private_mention_still_moves_the_cursor(
    standin: WebmentionStandIn, adapter: WebmentionAdapter
) -> None:
    standin.add_mention(ARTICLE, text="public")
    private = standin.add_mention(ARTICLE, text="private", private=True)
    snapshot = adapter.fetch_thread(ARTICLE_REF)
    assert len(snapshot.comments) == 1 and snapshot.cursor == private.id
    assert snapshot.counts.replies == 1


def test_paging_reads_every_page_and_is_bounded(standin: WebmentionStandIn) -> None:
    for n in range(150):
        standin.add_mention(ARTICLE, author=("bob", "carol", "dave")[n % 3], text=f"n{n}")
    with make_adapter(standin) as adapter:
        snapshot = adapter.fetch_thread(ARTICLE_REF)
    assert len(snapshot.comments) == 150 and snapshot.complete
    assert [c.query["page"] for c in standin.calls("GET", "jf2")] == [["0"], ["1"]]

    bounded = make_adapter(standin, max_pages=1)
    snapshot = bounded.fetch_thread(ARTICLE_REF)
    assert len(snapshot.comments) == 100 and not snapshot.complete
    rest = bounded.fetch_thread(ARTICLE_REF, snapshot.cursor)
    assert len(rest.comments) == 50
    bounded.close()


def test_reading_works_without_a_token(standin: WebmentionStandIn) -> None:
    standin.add_mention(ARTICLE, text="hello")
    standin.add_mention(ARTICLE, text="private", private=True)
    with make_adapter(standin, env={}) as adapter:
        snapshot = adapter.fetch_thread(ARTICLE_REF)
    assert [c.html for c in snapshot.comments] == ["<p>hello</p>"]
    assert "token" not in standin.calls("GET", "jf2")[0].query


def test_own_mentions_are_marked(standin: WebmentionStandIn) -> None:
    standin.add_mention(ARTICLE, author="bob", text="from bob")
    standin.add_mention(ARTICLE, author="carol", text="from carol")
    with make_adapter(standin, me="https://carol.example/") as adapter:
        snapshot = adapter.fetch_thread(ARTICLE_REF)
    assert [c.is_own for c in snapshot.comments] == [False, True]


# -- reading errors -----------------------------------------------------------------------
def test_wrong_token_is_auth_failed_and_never_shown(
    standin: WebmentionStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wmWRONGtoken-0000"
    adapter = make_adapter(standin, env={"WEBMENTIONIO_TOKEN": wrong})
    with adapter, pytest.raises(errors.AuthFailed, match="Access token was not valid") as caught:
        adapter.fetch_thread(ARTICLE_REF)
    assert wrong not in str(caught.value)
    assert standin.requests[-1].query["token"] == [wrong]
    assert "HTTP Request" in caplog.text and wrong not in caplog.text


def test_rate_limit_carries_retry_after(
    standin: WebmentionStandIn, adapter: WebmentionAdapter
) -> None:
    standin.fail_next(1, "429", retry_after=45)
    with pytest.raises(errors.RateLimited, match="rate_limit_exceeded") as caught:
        adapter.fetch_thread(ARTICLE_REF)
    assert caught.value.retry_after == 45.0


def test_retry_after_as_an_http_date(
    standin: WebmentionStandIn, adapter: WebmentionAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read by the one parser in http_client, against the server's Date header."""

    def dated(retry_after: float) -> Response:
        response = WebmentionStandIn.rate_limited(standin, retry_after)
        response.headers["Retry-After"] = formatdate(time.time() + retry_after, usegmt=True)
        return response

    monkeypatch.setattr(standin, "rate_limited", dated)
    standin.fail_next(1, "429", retry_after=120)
    with pytest.raises(errors.RateLimited) as caught:
        adapter.fetch_thread(ARTICLE_REF)
    assert caught.value.retry_after is not None and 118 <= caught.value.retry_after <= 121


@pytest.mark.parametrize("kind", ["500", "503"])
def test_server_errors_are_transient(
    standin: WebmentionStandIn, adapter: WebmentionAdapter, kind: str
) -> None:
    fails_transiently(standin, kind, lambda: adapter.fetch_thread(ARTICLE_REF), match=kind)


def test_timeout_is_transient_and_quick(
    standin: WebmentionStandIn, adapter: WebmentionAdapter
) -> None:
    gives_up_quickly(standin, lambda: adapter.fetch_thread(ARTICLE_REF), match="timed out")


def test_missing_api_is_not_found(standin: WebmentionStandIn) -> None:
    adapter = make_adapter(standin, base_url=standin.base_url + "/nowhere")
    with adapter, pytest.raises(errors.NotFound, match="404"):
        adapter.fetch_thread(ARTICLE_REF)


def test_token_never_appears_in_errors_or_logs(
    standin: WebmentionStandIn, adapter: WebmentionAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for kind in ("429", "500", "503", "timeout"):
        standin.fail_next(1, kind)
        with pytest.raises(errors.NetworkError) as caught:
            adapter.fetch_thread(ARTICLE_REF)
        assert TOKEN not in str(caught.value)
    adapter.fetch_thread(ARTICLE_REF)
    assert TOKEN not in caplog.text
    refused = make_adapter(standin, base_url="http://127.0.0.1:9")
    with refused, pytest.raises(errors.Transient) as caught:
        refused.fetch_thread(ARTICLE_REF)
    assert TOKEN not in str(caught.value) and TOKEN not in caplog.text


# -- no posting, no replying -------------------------------------------------------------
def test_publish_and_reply_are_unsupported_with_a_hint(adapter: WebmentionAdapter) -> None:
    mention = RemoteRef("webmention", "1", "https://bob.example/1")
    hint = "reply on your own site and send a webmention"
    refuses_to_post(adapter, mention, publish="send", reply=hint)


# -- sending -------------------------------------------------------------------------------
SENT = {
    "header": ("/webmention/receive", "header"),
    "header-relative": ("/webmention/receive", "header-relative"),
    "header-second-link": ("/webmention/receive", "header-second"),
    "header-wins": ("/webmention/receive", "header"),
    "link": ("/webmention/receive", "link"),
    "a": ("/webmention/receive", "a"),
    "a-before-link": ("/webmention/receive", "a-first"),
    "relative": ("/site/endpoint", ""),
    "empty": ("/site/empty", ""),
    "rel-list": ("/webmention/receive", "rel-list"),
    "not-webmention": ("/webmention/receive", "right"),
    "comment": ("/webmention/receive", "real"),
    "query": ("/webmention/receive", "query"),
    "xhtml": ("/webmention/receive", "xhtml"),
}


def test_every_page_with_an_endpoint_is_covered() -> None:
    assert set(SENT) | {"none", "text"} == set(PAGES)


@pytest.mark.parametrize("via_redirect", [False, True], ids=["direct", "redirected"])
@pytest.mark.parametrize("name", sorted(SENT))
def test_send_discovers_the_endpoint(
    standin: WebmentionStandIn, adapter: WebmentionAdapter, name: str, via_redirect: bool
) -> None:
    target = f"{standin.base_url}/{'redirect' if via_redirect else 'site'}/{name}"
    ref = adapter.send(SOURCE, target)
    path, via = SENT[name]
    [received] = standin.received
    assert (received["path"], received["via"]) == (path, via)
    assert (received["source"], received["target"]) == (SOURCE, target)
    [post] = standin.calls("POST")
    assert post.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "authorization" not in post.headers and "token" not in post.query
    assert ref.id == ref.url == f"{standin.base_url}/webmention/status/1"
    assert ref.extra["status"] == "202" and ref.extra["target"] == target
    if name == "query":
        assert post.query["version"] == ["1"]


def test_relative_endpoint_resolves_against_the_final_url(
    standin: WebmentionStandIn, adapter: WebmentionAdapter
) -> None:
    adapter.send(SOURCE, f"{standin.base_url}/redirect/relative")
    assert [r.path for r in standin.calls()] == [
        "/redirect/relative",
        "/site/relative",
        "/site/endpoint",
    ]


@pytest.mark.parametrize("name", ["none", "text"])
def test_no_endpoint_is_unsupported(
    standin: WebmentionStandIn, adapter: WebmentionAdapter, name: str
) -> None:
    target = standin.site_url(name)
    with pytest.raises(errors.Unsupported, match=f"no webmention endpoint at {target}"):
        adapter.send(SOURCE, target)
    assert standin.received == []


@pytest.mark.parametrize("status", [200, 201])
def test_other_success_answers_are_accepted(
    standin: WebmentionStandIn, adapter: WebmentionAdapter, status: int
) -> None:
    standin.receive_status = status
    target = standin.site_url("link")
    ref = adapter.send(SOURCE, target)
    assert ref.extra["status"] == str(status)
    expected = target if status == 200 else f"{standin.base_url}/webmention/status/1"
    assert ref.url == expected


def test_send_errors(standin: WebmentionStandIn, adapter: WebmentionAdapter) -> None:
    with pytest.raises(errors.NotFound):
        adapter.send(SOURCE, standin.site_url("missing"))
    with pytest.raises(errors.NetworkError, match="redirected too many times"):
        adapter.send(SOURCE, f"{standin.base_url}/redirect/loop")
    gives_up_quickly(
        standin, lambda: adapter.send(SOURCE, standin.site_url("link")), match="timed out"
    )
    standin.fail_next(1, "503")
    with pytest.raises(errors.Transient):
        adapter.send(SOURCE, standin.site_url("link"))
    standin.fail_next(1, "429", retry_after=60)
    with pytest.raises(errors.RateLimited) as caught:
        adapter.send(SOURCE, standin.site_url("link"))
    assert caught.value.retry_after == 60.0
    assert standin.received == []


def test_private_addresses_can_be_refused(standin: WebmentionStandIn) -> None:
    adapter = make_adapter(standin, allow_private_addresses=False)
    with adapter, pytest.raises(errors.Unsupported, match="private address"):
        adapter.send(SOURCE, standin.site_url("link"))
    assert standin.requests == []
    assert is_private_host("127.0.0.1") and is_private_host("10.1.2.3") and is_private_host("::1")
    assert is_private_host("169.254.1.1") and not is_private_host("93.184.215.14")


def test_link_header_parsing() -> None:
    value = '<https://a.example/x>; rel="other", </wm?a=1,2>; rel="webmention foo"; title="t, u"'
    assert list(parse_link_header(value)) == [
        ("https://a.example/x", ["other"]),
        ("/wm?a=1,2", ["webmention", "foo"]),
    ]
    assert list(parse_link_header("<https://e.example/>; REL=Webmention")) == [
        ("https://e.example/", ["webmention"])
    ]


# -- length -----------------------------------------------------------------------------
@pytest.mark.parametrize("text", CODE_POINT_TEXTS)
def test_measure_is_offline_and_counts_code_points(text: str) -> None:
    adapter = WebmentionAdapter({}, AdapterContext(env={}))
    assert adapter.measure(text) == len(text)
    assert adapter.max_length() >= 1_000_000
    assert adapter.base_url == "https://webmention.io"
