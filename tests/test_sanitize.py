"""The allowlist sanitizer comment bodies pass through before they are stored."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from pelican.plugins.engage.backfeed.sanitize import (
    ALLOWED_TAGS,
    MAX_BODY_CHARS,
    MAX_NESTING,
    cap_nesting,
    clean_comment,
    clean_html,
    excerpt,
    one_line,
    plain_text,
    web_url,
)

# Payloads a hostile commenter (or a hostile server) might send, one per attack family.
HOSTILE = {
    "script": '<p>hi</p><script>document.title="pwned"</script>',
    "event handler": '<p onmouseover="alert(1)">hover</p><img src=x onerror="alert(1)">',
    "javascript link": '<a href="javascript:alert(1)">click</a>',
    "obfuscated javascript": '<a href="jav&#x09;ascript:alert(1)">click</a>',
    "data link": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "vbscript link": '<a href="vbscript:msgbox(1)">x</a>',
    "svg": '<svg onload="alert(1)"><script>alert(2)</script><a href="javascript:1">s</a></svg>',
    "math": '<math><mtext><a xlink:href="javascript:alert(1)">m</a></mtext></math>',
    "style tag": "<style>body { display: none }</style><p>visible</p>",
    "style attribute": '<p style="position:fixed;inset:0;z-index:99">overlay</p>',
    "iframe": '<iframe src="https://evil.example/" srcdoc="<script>alert(1)</script>"></iframe>',
    "form": '<form action="https://evil.example/"><input name="pw"><button>go</button></form>',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    "base": '<base href="https://evil.example/">',
    "noscript mutation": '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "comment": "<!--><img src=x onerror=alert(1)>-->",
    "object": '<object data="javascript:alert(1)"></object><embed src="x.swf">',
    "class and id": '<p class="engage-gate" id="engage-conversation-x">spoof</p>',
}


def _tags_and_attributes(fragment: str) -> list[tuple[str, dict[str, str]]]:
    soup = BeautifulSoup(fragment, "html.parser")
    return [(t.name, dict(t.attrs)) for t in soup.find_all(True)]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_markup_comes_out_inert(name: str) -> None:
    cleaned = clean_html(HOSTILE[name])
    for tag, attrs in _tags_and_attributes(cleaned):
        assert tag in ALLOWED_TAGS, (tag, cleaned)
        assert not any(a.startswith("on") for a in attrs), cleaned
        assert set(attrs) <= {"href", "title", "rel"}, cleaned
        href = attrs.get("href")
        assert href is None or href.startswith(("https://", "http://", "mailto:")), cleaned
    lowered = cleaned.lower()
    assert "<script" not in lowered and "javascript:" not in lowered and "style=" not in lowered


def test_script_and_style_content_is_dropped_not_shown_as_text() -> None:
    cleaned = clean_html(HOSTILE["script"] + HOSTILE["style tag"])
    assert cleaned == "<p>hi</p><p>visible</p>"


def test_links_keep_their_target_and_get_nofollow_ugc() -> None:
    cleaned = clean_html('<a href="https://example.org/x?a=1&amp;b=2" target="_blank">read</a>')
    soup = BeautifulSoup(cleaned, "html.parser")
    link = soup.a
    assert link is not None
    assert link["href"] == "https://example.org/x?a=1&b=2"
    assert link["rel"] == ["nofollow", "ugc", "noopener"]
    assert "target" not in link.attrs


def test_relative_links_lose_their_target() -> None:
    """A relative URL would point into our own site: a phishing aid, never the author's intent."""
    assert "href" not in clean_html('<a href="/admin">admin</a>')


def test_formatting_survives() -> None:
    fragment = (
        "<p>One <strong>bold</strong> and <em>soft</em> word, <code>x = 1</code>.</p>"
        "<blockquote><p>quoted</p></blockquote><ul><li>a</li><li>b</li></ul>"
    )
    assert clean_html(fragment) == fragment


def test_images_are_not_kept() -> None:
    assert clean_html('<p>look <img src="https://tracker.example/pixel.gif"></p>') == "<p>look </p>"


def test_plain_text_separates_blocks_and_decodes_entities() -> None:
    assert plain_text("<p>a</p><p>b &amp; c</p>x<br>y") == "a b & c x y"
    assert plain_text(HOSTILE["script"]) == "hi"


def test_excerpt_cuts_at_a_word() -> None:
    text = "<p>" + " ".join(f"word{i}" for i in range(100)) + "</p>"
    short = excerpt(text, 40)
    assert len(short) <= 40 and short.endswith("…")
    assert short[:-1].split()[-1].startswith("word")  # no half word before the ellipsis
    assert excerpt("<p>short</p>", 40) == "short"


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://example.org/@bob", True),
        ("http://127.0.0.1:8000/a", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("data:image/png;base64,AAAA", False),
        ("//evil.example/x", False),
        ("/relative", False),
        ("https:///no-host", False),
        (" https://example.org/", False),
        ("https://example.org/\nx", False),
        ("", False),
        (None, False),
    ],
)
def test_web_url_only_passes_absolute_http_urls(url: str | None, kept: bool) -> None:
    assert web_url(url) == (url if kept else "")


def test_one_line_strips_control_characters() -> None:
    assert one_line("Bob\u0000\n\tMarsh\x1b[31m") == "Bob Marsh [31m"
    assert len(one_line("x" * 1000)) == 200


# -- the one URL policy and bounded bodies (issue 11) ----------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ('https://e.example/s"><script>alert(1)</script>', "https://e.example/s%22%3E%3Cscript%3Ealert(1)%3C/script%3E"),
        ("https://e.example/it's a `test`", "https://e.example/it%27s%20a%20%60test%60"),
        ("https://blog.example.net@evil.example/", ""),  # who is the host, again?
        ("https://evil.example\\@blog.example.net/", ""),
        ("https://e.example:99999/", ""),
        ("https://e.example/\x9b31m", ""),
        ("https://e.example/" + "a" * 3000, ""),
    ],
)  # fmt: skip
def test_web_url_is_inert_even_unescaped(url: str, expected: str) -> None:
    assert web_url(url) == expected


def _depth(fragment: str) -> int:
    soup = BeautifulSoup(fragment, "html.parser")
    return max((len(t.find_parents()) for t in soup.find_all(True)), default=0)


@pytest.mark.parametrize(
    "unit", ["<blockquote>", "<div>", "<ul><li>", "<p><b>", "<a>", "<i><b></i></b>", "<table>"]
)
def test_a_huge_hostile_body_is_capped_flattened_and_linked(unit: str) -> None:
    body = unit * (1_000_000 // len(unit)) + "the end"
    cleaned = clean_comment(body, "https://social.example/@eve/1", "Mastodon")
    assert len(cleaned) < 2 * MAX_BODY_CHARS
    assert _depth(cleaned) <= MAX_NESTING + 1  # BeautifulSoup counts its own root
    tail = BeautifulSoup(cleaned, "html.parser").find_all("a")[-1]
    assert tail["href"] == "https://social.example/@eve/1"
    assert tail.get_text() == "Read the rest on Mastodon"


def test_a_body_within_the_cap_is_kept_whole_and_without_control_characters() -> None:
    body = "<p>fine\x1b[2J\x07 and \x9b31m done</p>"
    assert clean_comment(body, "https://e.example/1", "Mastodon") == "<p>fine[2J and 31m done</p>"
    assert "Read the rest" not in clean_comment("<p>" + "x" * 1000 + "</p>", "", "")


def test_nesting_is_capped_but_the_words_stay() -> None:
    deep = "<blockquote>" * 40 + "<em>deep words</em>" + "</blockquote>" * 40
    flat = cap_nesting(clean_html(deep))
    assert _depth(flat) <= MAX_NESTING and "deep words" in flat
    assert BeautifulSoup(flat, "html.parser").get_text() == "deep words"
    shallow = '<p><em>a</em> <a href="https://e.example/" title="x>y">b</a></p>'
    assert cap_nesting(clean_html(shallow)) == clean_html(shallow)
