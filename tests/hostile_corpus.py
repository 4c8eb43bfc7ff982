"""A hostile corpus: every field a stranger controls, at its worst, for the real sync path.

``mentions()`` is what a hostile webmention.io-compatible JF2 endpoint answers
for an article; ``comment_feed()`` an Atom comment feed; ``bomb()`` a
compressed bomb. The tests (tests/test_hostile_corpus.py) and the benchmark
(benchmarks/security.py) serve them from 127.0.0.1 and run `engage sync`,
the build and `engage inbox` over them.
"""

from __future__ import annotations

import html
import zlib
from typing import Any

import zstandard

BLOG = "https://blog.example.net"
# Text a terminal would obey, markup Rich would parse, HTML a browser would run.
TERMINAL = (
    "\x1b]0;pwned\x07\x1b[2J\x1b[31m\x9b31m\r\x00\x08[/x][link=https://evil.example]hi[/link]"
)
SCRIPT = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"
NAMES: list[Any] = [
    f"Mallory {TERMINAL}",
    f"<b>Eve</b>{SCRIPT}",
    "A" * 20_000,
    "",
    None,
    12345,
    ["a", "list"],
    {"a": "dict"},
    "\u202eevil\u202c name",
]
URLS: list[Any] = [
    "javascript:alert(document.domain)//",
    'https://e.example/s"><script>alert(1)</script>',
    "https://e.example/s'><img src=x onerror=alert(1)>",
    "data:text/html,<script>alert(1)</script>",
    f"{BLOG}/about",  # a claim on the blog's host
    "https://blog.example.net.evil/",
    "https://blog.example.net@evil.example/",
    "https://e.example/" + "a" * 5000,
    "https://[::1/",
    "//evil.example/x",
    "",
    None,
    42,
]
DATES: list[Any] = [
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "not a date",
    "2999-01-01T00:00:00Z",  # the future
    "1970-01-01T00:00:00Z",  # before 1990
    1e20,
    None,
    "2026-11-01T10:00:00Z",
]
BODIES: list[Any] = [
    SCRIPT,
    f"<p>{TERMINAL}</p>",
    "<blockquote>" * 100_000 + "deep",  # 1.2 MB: 100,000 nested blockquotes
    "<a>" * 300_000,
    "<p>" + "word " * 200_000 + "</p>",  # 1 MB of words
    '<a href="javascript:alert(1)">x</a><svg onload=alert(1)>',
    None,
    123,
]


def mentions(target: str, avatar: str) -> list[Any]:
    """JF2 children: every hostile value in every field, plus a reply chain 1,200 deep."""
    children: list[Any] = [None, "not an entry", 7, {"wm-id": "not a number"}]
    n = 0

    def entry(**fields: Any) -> dict[str, Any]:
        nonlocal n
        n += 1
        base: dict[str, Any] = {
            "type": "entry",
            "wm-id": 100_000 + n,
            "wm-property": "in-reply-to",
            "wm-source": f"https://stranger{n}.example/post",
            "url": f"https://stranger{n}.example/post",
            "wm-target": target,
            "in-reply-to": target,
            "published": "2026-11-01T10:00:00Z",
            "wm-received": "2026-11-01T10:00:05Z",
            "author": {"name": f"Stranger {n}", "url": f"https://stranger{n}.example/"},
            "content": {"text": f"comment {n}"},
        }
        base.update(fields)
        return base

    for name in NAMES:
        children.append(entry(author={"name": name, "url": "https://s.example/", "photo": avatar}))
    for url in URLS:
        children.append(entry(author={"name": "Url Person", "url": url, "photo": url}))
        children.append(entry(url=url))
    for date in DATES:
        children.append(entry(published=date, **{"wm-received": date}))
    for body in BODIES:
        children.append(entry(content={"html": body}))
    children.append(entry(content={"text": TERMINAL * 10}))
    children.append(entry(content="not a dict", author="not a dict"))
    children.append(entry(**{"wm-id": 10**30}))
    children.append(entry(**{"wm-id": -5}))
    children.append(entry(**{"wm-property": "<script>"}))
    children.append(entry(**{"wm-private": False, "in-reply-to": [None, 5, {"x": 1}]}))
    # A chain 1,200 replies deep (each names the one before in in-reply-to), and a cycle.
    previous = target
    for depth in range(1200):
        url = f"https://chain.example/{depth}"
        children.append(
            entry(url=url, **{"wm-source": url, "in-reply-to": previous},
                  content={"text": f"chain link {depth}"})
        )  # fmt: skip
        previous = url
    children.append(
        entry(url="https://loop.example/a", **{"in-reply-to": "https://loop.example/b"})
    )
    children.append(
        entry(url="https://loop.example/b", **{"in-reply-to": "https://loop.example/a"})
    )
    return children


def comment_feed() -> str:
    """An Atom feed of comments with hostile titles, authors, dates, ids and bodies."""
    entries = []
    dates = ["0000-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "2999-01-01T00:00:00Z",
             "garbage", "2026-11-02T10:00:00Z"]  # fmt: skip
    for n, date in enumerate(dates):
        entries.append(
            f"<entry><id>tag:c:{n}:{html.escape(TERMINAL)}</id>"
            f"<title>{html.escape(SCRIPT)}</title>"
            f"<author><name>{html.escape('Feed ' + TERMINAL)}</name>"
            f"<uri>javascript:alert({n})</uri></author>"
            f'<link href="https://e.example/c{n}&#10;Source_Feed: file:/etc/passwd"/>'
            f"<published>{date}</published><updated>{date}</updated>"
            f'<content type="html">{html.escape(SCRIPT + TERMINAL)}</content></entry>'
        )
    entries.append(
        "<entry><id>tag:c:big</id><title>big</title><author><name>Big</name></author>"
        '<published>2026-11-02T10:00:00Z</published><content type="html">'
        + html.escape("<blockquote>" * 50_000 + "</blockquote>" * 50_000)
        + "</content></entry>"
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>comments</title><id>tag:c</id><updated>2026-11-02T10:00:00Z</updated>"
        + "".join(entries)
        + "</feed>"
    )


def bomb(encoding: str, size: int = 1024 * 1024 * 1024) -> bytes:
    """``size`` zero bytes (1 GB by default) as ``encoding``, built a megabyte at a time."""
    block = b"\0" * (1024 * 1024)
    steps = size // len(block)
    if encoding == "zstd":
        compressor = zstandard.ZstdCompressor(level=19).compressobj()
        return b"".join(compressor.compress(block) for _ in range(steps)) + compressor.flush()
    packer = zlib.compressobj(9, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
    return b"".join(packer.compress(block) for _ in range(steps)) + packer.flush()
