"""The comment-feed adapter (httpx + feedparser) against the feed stand-in."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from click.testing import CliRunner
from local_http import drip, serving
from network_fixtures import (
    CODE_POINT_TEXTS,
    cleared_fixtures,
    fails_transiently,
    gives_up_quickly,
    open_adapter,
    refuses_to_post,
    write_recent_post,
)
from sitebuilder import write_settings

from pelican.plugins.engage import errors, site
from pelican.plugins.engage.cli import cli
from pelican.plugins.engage.networks import feed as feed_module
from pelican.plugins.engage.networks.base import AdapterContext, RemoteRef
from pelican.plugins.engage.networks.feed import FeedAdapter
from pelican.plugins.engage.sandbox.feed import FeedStandIn

LAST_WEEK = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


server, standin = cleared_fixtures(FeedStandIn, timeout_seconds=1.0)


@pytest.fixture
def adapter() -> Iterator[FeedAdapter]:
    # The stand-in plays the stranger's server on 127.0.0.1: allowed as on a LAN deployment.
    options = {"timeout": 0.5, "allow_private_addresses": True}
    yield from open_adapter(FeedAdapter, options, AdapterContext(env={}))


def ref(url: str) -> RemoteRef:
    return RemoteRef("feed", url, url)


def conversation(standin: FeedStandIn) -> dict[str, str]:
    """Three comments: one with a guid, one with only a link, one with neither."""
    bob = standin.add_comment("post", "bob", "I <3 this & that", published=LAST_WEEK)
    carol = standin.add_comment(
        "post", "carol", "x", html="<p>Hi <em>there</em></p>", guid=False, published=LAST_WEEK
    )
    dave = standin.add_comment("post", "dave", "no ids at all", guid=False, link=False)
    return {"bob": bob.id, "carol": carol.id, "dave": dave.id}


# -- reading ----------------------------------------------------------------------------
def test_rss_feed_becomes_a_flat_list_of_comments(
    standin: FeedStandIn, adapter: FeedAdapter
) -> None:
    ids = conversation(standin)
    url = standin.feed_url("post", "rss")
    snapshot = adapter.fetch_thread(ref(url))

    bob, carol, dave = snapshot.comments
    assert bob.ref.id == ids["bob"]  # the guid
    assert carol.ref.id == ids["carol"] == carol.ref.url  # no guid: the link
    assert dave.ref.id.startswith("sha256:") and dave.ref.url == ""  # neither: a hash
    assert all(c.parent_id == url and c.kind == "reply" for c in snapshot.comments)
    assert bob.html == "<p>I &lt;3 this &amp; that</p>"
    assert carol.html == "<p>Hi <em>there</em></p>"  # content:encoded wins over description
    assert (bob.author.name, bob.author.handle) == ("Bob Marsh", "bob@bob.example.org")
    assert bob.created_at == LAST_WEEK
    assert snapshot.counts.replies == 3 and snapshot.complete
    assert adapter.fetch_thread(ref(url)).comments[2].ref.id == dave.ref.id  # the hash is stable
    call = standin.calls("GET")[0]
    assert call.headers["user-agent"].startswith("pelican-engage/0.1")
    assert "application/rss+xml" in call.headers["accept"]


def test_atom_feed_with_authors_and_edits(standin: FeedStandIn, adapter: FeedAdapter) -> None:
    ids = conversation(standin)
    standin.edit(ids["bob"], "I <3 this, edited")
    url = standin.feed_url("post", "atom")
    snapshot = adapter.fetch_thread(ref(url))

    bob, carol, dave = snapshot.comments
    assert [bob.ref.id, carol.ref.id] == [ids["bob"], ids["carol"]]
    assert dave.ref.id.startswith("sha256:")
    assert bob.html == "<p>I &lt;3 this, edited</p>"  # type="text" content is escaped
    assert carol.html == "<p>Hi <em>there</em></p>"
    assert (bob.author.name, bob.author.url) == ("Bob Marsh", "https://bob.example/")
    assert bob.created_at == LAST_WEEK
    assert bob.edited_at is not None and bob.edited_at > LAST_WEEK
    assert carol.edited_at is None
    assert snapshot.counts.replies == 3


def test_deleted_and_hidden_comments_disappear(standin: FeedStandIn, adapter: FeedAdapter) -> None:
    ids = conversation(standin)
    standin.delete(ids["bob"])
    standin.hide(ids["carol"])
    snapshot = adapter.fetch_thread(ref(standin.feed_url("post", "rss")))
    assert [c.author.name for c in snapshot.comments] == ["Dave Okafor"]
    assert snapshot.counts.replies == 1


def test_empty_feed_is_an_empty_complete_thread(standin: FeedStandIn, adapter: FeedAdapter) -> None:
    comment = standin.add_comment("quiet", "bob", "only one")
    standin.delete(comment.id)
    snapshot = adapter.fetch_thread(ref(standin.feed_url("quiet", "atom")))
    assert snapshot.comments == [] and snapshot.complete and snapshot.counts.replies == 0


def test_redirected_feed_is_followed(standin: FeedStandIn, adapter: FeedAdapter) -> None:
    conversation(standin)
    snapshot = adapter.fetch_thread(ref(standin.feed_url("post", "moved")))
    assert len(snapshot.comments) == 3
    assert [r.path for r in standin.calls("GET")] == ["/moved/post", "/atom/post"]


def test_relative_feed_urls_need_a_base_url(standin: FeedStandIn) -> None:
    standin.add_comment("post", "bob", "hello")
    options = {**standin.network_options(), "timeout": 0.5, "allow_private_addresses": True}
    with FeedAdapter(options, AdapterContext(env={})) as adapter:
        snapshot = adapter.fetch_thread(ref("/rss/post"))
    assert [c.author.name for c in snapshot.comments] == ["Bob Marsh"]
    assert snapshot.comments[0].parent_id == "/rss/post"
    with (
        FeedAdapter({}, AdapterContext(env={})) as bare,
        pytest.raises(errors.ConfigError, match="base_url"),
    ):
        bare.fetch_thread(ref("/rss/post"))


# -- file: feeds, relative to the site folder ---------------------------------------------
SAVED_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Comments on Hello</title>
<item><guid>msg-1</guid><link>https://lists.example/msg-1</link>
<author>bob@example.org (Bob Marsh)</author><pubDate>Mon, 02 Mar 2026 10:00:00 +0000</pubDate>
<description>I &lt;3 small servers</description></item>
<item><guid>msg-2</guid><link>msg-2.html</link><author>carol@example.org (Carol Nguyen)</author>
<pubDate>Mon, 02 Mar 2026 11:00:00 +0000</pubDate><description>Same here.</description></item>
</channel></rss>
"""


def saved_feed(site: Path, name: str = "comments/hello.xml") -> Path:
    path = site / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SAVED_FEED, encoding="utf-8")
    return path


def test_a_file_feed_is_read_relative_to_the_site_folder(tmp_path: Path) -> None:
    saved_feed(tmp_path)
    with FeedAdapter({}, AdapterContext(env={}, site_dir=tmp_path)) as adapter:
        snapshot = adapter.fetch_thread(ref("file:comments/hello.xml"))
    assert [c.author.name for c in snapshot.comments] == ["Bob Marsh", "Carol Nguyen"]
    assert [c.ref.id for c in snapshot.comments] == ["msg-1", "msg-2"]
    assert {c.parent_id for c in snapshot.comments} == {"file:comments/hello.xml"}
    assert snapshot.comments[0].created_at == LAST_WEEK
    # ids stay as written, so moving the site folder changes no comment's identity
    assert snapshot.comments[1].ref.url == "msg-2.html"


def test_an_absolute_file_feed_needs_no_site_folder(tmp_path: Path) -> None:
    path = saved_feed(tmp_path)
    with FeedAdapter({}, AdapterContext(env={})) as adapter:
        assert len(adapter.fetch_thread(ref(path.as_uri())).comments) == 2


def test_file_feed_problems_name_the_file(tmp_path: Path) -> None:
    with (
        FeedAdapter({}, AdapterContext(env={})) as bare,
        pytest.raises(errors.ConfigError, match="relative to the site folder"),
    ):
        bare.fetch_thread(ref("file:comments/hello.xml"))
    with FeedAdapter({}, AdapterContext(env={}, site_dir=tmp_path)) as adapter:
        with pytest.raises(errors.NotFound, match=r"comments/gone\.xml does not exist"):
            adapter.fetch_thread(ref("file:comments/gone.xml"))
        (tmp_path / "empty.xml").write_text("not a feed", encoding="utf-8")
        with pytest.raises(errors.Transient, match="could not be read"):
            adapter.fetch_thread(ref("file:empty.xml"))


def test_a_huge_file_feed_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed_module, "MAX_FILE_BYTES", 100)
    saved_feed(tmp_path)
    with (
        FeedAdapter({}, AdapterContext(env={}, site_dir=tmp_path)) as adapter,
        pytest.raises(errors.ConfigError, match="larger than 100 bytes"),
    ):
        adapter.fetch_thread(ref("file:comments/hello.xml"))


def test_engage_sync_reads_a_file_comments_feed_onto_the_page(tmp_path: Path) -> None:
    """The metadata check accepted `file:` all along; now `engage sync` reads it too."""
    conf = write_settings(tmp_path, ENGAGE_NETWORKS={"feed": {}}, SITEURL="")
    write_recent_post(tmp_path / "content", Comments_Feed="file:comments/hello.xml")
    saved_feed(tmp_path)
    result = CliRunner().invoke(cli, ["sync", "-s", str(conf)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    site.build_site(site.load_settings(conf))
    page = (tmp_path / "output" / "hello.html").read_text(encoding="utf-8")
    assert "Bob Marsh" in page and "Carol Nguyen" in page and "I &lt;3 small servers" in page


# -- broken feeds --------------------------------------------------------------------------
def test_bozo_feed_with_entries_is_used(
    standin: FeedStandIn, adapter: FeedAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    conversation(standin)
    with caplog.at_level(logging.WARNING):
        snapshot = adapter.fetch_thread(ref(standin.feed_url("post", "bozo")))
    assert len(snapshot.comments) == 3 and snapshot.complete
    assert "not well-formed" in caplog.text and "undefined entity" in caplog.text


def test_broken_feed_without_entries_is_transient(
    standin: FeedStandIn, adapter: FeedAdapter
) -> None:
    with pytest.raises(errors.Transient, match=r"could not be read: .*no element found"):
        adapter.fetch_thread(ref(standin.feed_url("post", "broken")))


def test_a_web_page_is_not_a_feed(standin: FeedStandIn, adapter: FeedAdapter) -> None:
    with pytest.raises(errors.Transient, match="could not be read"):
        adapter.fetch_thread(ref(standin.feed_url("post", "html")))


# -- errors ----------------------------------------------------------------------------------
def test_timeout_is_transient_and_quick(standin: FeedStandIn, adapter: FeedAdapter) -> None:
    conversation(standin)
    gives_up_quickly(
        standin,
        lambda: adapter.fetch_thread(ref(standin.feed_url("post"))),
        match=r"timed out after 0\.5 s",
    )
    assert len(adapter.fetch_thread(ref(standin.feed_url("post"))).comments) == 3


def test_a_dripping_feed_hits_the_total_deadline(adapter: FeedAdapter) -> None:
    """Each byte arrives within the 0.5 s read timeout; the whole read may not take forever."""

    class Drip(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.end_headers()
            drip(self.wfile, b" ")

        def log_message(self, *args: object) -> None:
            return

    with serving(Drip) as url, pytest.raises(errors.Transient, match=r"took longer than 1\.5 s"):
        adapter.fetch_thread(ref(f"{url}/rss/post"))


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_server_errors_are_transient(standin: FeedStandIn, adapter: FeedAdapter, kind: str) -> None:
    post = ref(standin.feed_url("post"))
    fails_transiently(standin, kind, lambda: adapter.fetch_thread(post), match=kind)


def test_rate_limit_carries_retry_after(standin: FeedStandIn, adapter: FeedAdapter) -> None:
    standin.fail_next(1, "429", retry_after=90)
    with pytest.raises(errors.RateLimited) as caught:
        adapter.fetch_thread(ref(standin.feed_url("post")))
    assert caught.value.retry_after == 90.0


def test_missing_feed_is_not_found(standin: FeedStandIn, adapter: FeedAdapter) -> None:
    with pytest.raises(errors.NotFound, match="404"):
        adapter.fetch_thread(ref(standin.feed_url("nobody-commented")))


def test_connection_refused_is_transient(adapter: FeedAdapter) -> None:
    with pytest.raises(errors.Transient):
        adapter.fetch_thread(ref("http://127.0.0.1:9/rss/post"))


def test_query_strings_stay_out_of_messages(standin: FeedStandIn, adapter: FeedAdapter) -> None:
    secret = "feedKEY-private-123"
    with pytest.raises(errors.NotFound) as caught:
        adapter.fetch_thread(ref(f"{standin.feed_url('missing')}?key={secret}"))
    assert secret not in str(caught.value)


# -- read-only --------------------------------------------------------------------------------
def test_publish_and_reply_are_unsupported_with_a_hint(adapter: FeedAdapter) -> None:
    comment = RemoteRef("feed", "x", "https://e.example/x")
    hint = "read-only: answer where the comment was written"
    refuses_to_post(adapter, comment, publish=hint, reply="read-only")


@pytest.mark.parametrize("text", CODE_POINT_TEXTS)
def test_measure_is_offline_and_counts_code_points(text: str) -> None:
    adapter = FeedAdapter({}, AdapterContext(env={}))
    assert adapter.measure(text) == len(text)
    assert adapter.max_length() >= 1_000_000
