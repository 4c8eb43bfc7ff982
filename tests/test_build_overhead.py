"""Shortcuts the build takes per post and per comment give the same answers as the long way."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from pelican.plugins.engage.backfeed import conversation
from pelican.plugins.engage.backfeed.page_insert import has_conversation, insert_into_page
from pelican.plugins.engage.model import MAX_URL_CHARS, NetworkCounts, web_url

URLS = [
    "https://social.example/@alice/109876543210",
    "http://blog.example.net/2026/11/a-post.html?utm=x&b=1#comment-3",
    "https://bsky.app/profile/ada.bsky.social/post/3kabc",
    "https://www.facebook.com/104000000000000_1234?comment_id=55",
    "HTTPS://Social.Example/@bob/1",
    "https://social.example:8443/@alice/1",
    "https://social.example:99999/@alice/1",
    "https://social.example:x/@alice/1",
    "https://user:pass@social.example/",
    "https://blog.example@evil.example/",
    "https://social.example\\@evil.example/",
    "https://[::1]/x",
    "https://[::1/x",
    'https://social.example/"onmouseover=alert(1)',
    "https://social.example/<script>",
    "https://social.example/a b",
    "https://social.example/a`b",
    "https://social.example/a'b",
    "https://social.example/tab\there",
    "https://social.example/\x85",
    " https://social.example/",
    "https://social.example/ ",
    "javascript:alert(1)",
    "javascript://social.example/%0aalert(1)",
    "data:text/html,<b>x</b>",
    "//social.example/relative",
    "/relative/path",
    "ftp://files.example/",
    "https://",
    "https:///path",
    "https://./",
    "https://xn--bcher-kva.example/",
    "https://bücher.example/",
    "https://social.example/" + "a" * (MAX_URL_CHARS - 23),
    "https://social.example/" + "a" * (MAX_URL_CHARS - 22),
    "https://social.example/%2F..%2F?q=[1]",
]


@pytest.mark.parametrize("url", URLS)
def test_the_quick_url_check_agrees_with_web_url(url: str) -> None:
    assert conversation._http(url) == web_url(url)


def test_no_url_is_no_link() -> None:
    assert conversation._http(None) == ""
    assert conversation._http("") == ""


def _article(comments: list[object] | None, counts: dict[str, NetworkCounts] | None) -> object:
    engage = SimpleNamespace(comments=comments, counts=counts, syndications=[])
    return SimpleNamespace(engage=engage, save_as="post.html", content="<p>Hi</p>")


def test_a_page_with_nothing_to_show_is_not_even_read(tmp_path: Path) -> None:
    missing = tmp_path / "not-written.html"  # reading it would raise
    context = {"article": _article([], {}), "output_file": "post.html"}
    assert not has_conversation(context["article"])
    assert insert_into_page(missing, context) is False


def test_counts_alone_are_something_to_show() -> None:
    assert has_conversation(_article([], {"mastodon": NetworkCounts("Mastodon", likes=1)}))
    assert has_conversation(_article([object()], {}))
    assert not has_conversation(SimpleNamespace(engage=None))
    assert not has_conversation(None)
