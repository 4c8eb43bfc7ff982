"""The conversation on the article page of any theme, unedited (issue 12).

The same small site is built with Pelican's own ``notmyidea`` and ``simple``
and three themes from PyPI (reflex, smallweb, shiori). None of them includes
``engage/comments.html``, so the plugin adds the conversation to each article
page after the article's content: once, nested, never on an index page or in
a feed. Headless Chromium then opens each page at 375 px wide: the
conversation shows and the page does not scroll sideways.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pelican_shiori
import pytest
from browser import REPO, SCREENSHOTS, browser_present, chromium
from bs4 import BeautifulSoup
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from pelican.themes import reflex, smallweb  # test dependencies, like pelican_shiori
from sitebuilder import TAKE, comment, store_thread, write_post, write_settings
from test_browser import FRIENDLY_BLUESKY, FRIENDLY_MASTODON, NOTEBOOK

from pelican.plugins.engage import site
from pelican.plugins.engage.backfeed.page_insert import insert
from pelican.plugins.engage.networks.base import RemoteRef
from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication.ledger import Entry, Ledger

SYNDICATED = {
    "mastodon": "https://social.example/@ada/111",
    "bluesky": "https://bsky.example/profile/ada/post/3k",
}
INSERTED = '[data-engage="inserted"]'


class AssetsStub(Extension):
    """Shiori's ``{% assets %}`` tag without pelican-webassets and a Sass compiler.

    Neither is installed here, so the theme's SCSS is not compiled: the body is
    rendered once with ``ASSET_URL`` set to the bundle's output, and the page is
    unstyled by the theme. Its templates, what the plugin works on, are the real ones.
    """

    tags = {"assets"}  # noqa: RUF012  # Jinja's own declaration style

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        output: nodes.Expr = nodes.Const("")
        while parser.stream.current.type != "block_end":
            if parser.stream.current.type == "name" and parser.stream.look().type == "assign":
                key = next(parser.stream).value
                next(parser.stream)
                value = parser.parse_expression()
                output = value if key == "output" else output
            else:
                parser.parse_expression()
            parser.stream.skip_if("comma")
        body = parser.parse_statements(("name:endassets",), drop_needle=True)
        return nodes.With([nodes.Name("ASSET_URL", "param")], [output], body, lineno=lineno)


def _reflex() -> dict[str, Any]:
    # Reflex reads CC_LICENSE['icon'] even when CC_LICENSE is unset: give it one.
    license_ = {"name": "CC BY-SA", "version": "4.0", "slug": "by-sa", "icon": False}
    return {"THEME": reflex.path(), "CC_LICENSE": license_}


def _smallweb() -> dict[str, Any]:
    return {"THEME": smallweb.path()}


def _shiori() -> dict[str, Any]:
    return {
        "THEME": pelican_shiori.path(),
        "JINJA_ENVIRONMENT": {
            "trim_blocks": True,
            "lstrip_blocks": True,
            "extensions": [AssetsStub],
        },
        "SHIORI_AVATAR_URL": "",  # no request to robohash.org
    }


THEMES: dict[str, Callable[[], dict[str, Any]]] = {
    "notmyidea": lambda: {"THEME": "notmyidea"},
    "simple": lambda: {"THEME": "simple"},
    "reflex": _reflex,
    "smallweb": _smallweb,
    "shiori": _shiori,
}


# What makes a phone scroll sideways when nothing wraps it: a long link and a code line.
LONG_LINES = comment(
    "m5",
    "m4",
    "Lin Ko",
    "<p>Nightly, with https://backup.example.org/restic/snapshots/2026/11/03/"
    "very-long-path-that-never-breaks-by-itself-on-a-narrow-screen.tar.zst</p>"
    "<pre><code>restic -r sftp:backup@host:/srv/restic backup /etc /srv --exclude-caches"
    "</code></pre>",
    60,
)


def make_site(root: Path, **settings: Any) -> Path:
    """Two articles, one with a threaded conversation on two networks; returns the conf."""
    conf = write_settings(
        root,
        **NOTEBOOK,
        FEED_ALL_ATOM="feeds/all.atom.xml",
        FEED_ALL_RSS="feeds/all.rss.xml",
        DEFAULT_PAGINATION=False,
        **settings,
    )
    write_post(
        root / "content",
        "conversation",
        f"Small servers are mostly about people.\n\n## My take\n\n{TAKE}",
        Title="Running a small server",
        Slug="conversation",
        Summary="Small servers are mostly about people.",
    )
    write_post(
        root / "content",
        "quiet",
        "Nobody has answered this one yet.",
        Title="A quiet post",
        Slug="quiet",
        Date="2026-10-01 10:00",
    )
    db = root / "engage.sqlite3"
    mastodon = [*FRIENDLY_MASTODON, LONG_LINES]
    store_thread(db, "content/conversation.md", "mastodon", mastodon, likes=12, reposts=3)
    store_thread(db, "content/conversation.md", "bluesky", FRIENDLY_BLUESKY, likes=7)
    now = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    with Store.open(db) as store:
        ledger = Ledger(store)
        for network, url in SYNDICATED.items():
            entry = ledger.add(
                Entry("content/conversation.md", network, 0, "t", None, now, network, now)
            )
            ledger.mark_posted(entry, _ref(network, url))
    return conf


def _ref(network: str, url: str) -> Any:
    return RemoteRef(network, url.rsplit("/", 1)[-1], url)


def build(conf: Path, **override: Any) -> None:
    site.build_site(site.load_settings(conf, override))


def read(root: Path, name: str) -> str:
    return (root / "output" / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same site built with each theme, in a folder named after it."""
    built = {}
    for name, theme in THEMES.items():
        root = tmp_path_factory.mktemp(name, numbered=False)
        build(make_site(root), **theme())
        built[name] = root
    return built


@pytest.fixture(params=list(THEMES))
def themed(request: pytest.FixtureRequest, sites: dict[str, Path]) -> Path:
    return sites[request.param]


def test_the_article_page_shows_the_conversation_once_nested(themed: Path) -> None:
    page = BeautifulSoup(read(themed, "conversation.html"), "html.parser")
    assert len(page.select(INSERTED)) == 1
    assert len(page.select('[data-engage="conversation"]')) == 1
    assert len(page.select(".engage-conversation")) == 1
    # Nested: Ada's answer sits inside Carol's reply, inside Bob's comment.
    answer = page.select_one(".h-cite.is-author:-soup-contains('about page')")
    assert answer is not None
    parents = [p.get("aria-label", "") for p in answer.find_parents(class_="h-cite")]
    assert parents[:2] == [
        "Comment by Carol Nguyen on Mastodon",
        "Comment by Bob Marsh on Mastodon",
    ]
    # The syndication links come with it, and the block follows the article's own text.
    links = [a["href"] for a in page.select(f"{INSERTED} a.u-syndication")]
    assert sorted(links) == sorted(SYNDICATED.values())
    text = page.get_text(" ")
    assert text.index("That part never gets automated away") < text.index("Conversation")


def test_the_conversation_stays_off_index_pages_and_feeds(themed: Path) -> None:
    output = themed / "output"
    assert "Running a small server" in read(themed, "index.html")  # listed, with its summary
    assert "That part never gets automated away" in read(themed, "feeds/all.atom.xml")
    for path in [*output.glob("*.html"), *output.glob("*/*.html"), *output.glob("feeds/*")]:
        if path.name.startswith("conversation."):  # the page itself, and the probe's copy
            continue
        text = path.read_text(encoding="utf-8")
        assert "data-engage" not in text and "Bob Marsh" not in text, path
    assert "data-engage" not in read(themed, "quiet.html")  # nothing to show, nothing added


@pytest.mark.browser
@browser_present
def test_a_phone_shows_the_conversation_without_sideways_scrolling(
    themed: Path, tmp_path: Path
) -> None:
    seen = on_a_phone(themed, tmp_path)
    assert seen.get("probe") == "ran" and seen.get("width") == "375"
    assert seen.get("visible") == "true", seen.get("box")
    assert seen.get("nested") == "true"
    assert seen.get("overflow") == "false", seen.get("widths")


@pytest.mark.browser
@browser_present
def test_the_probe_does_see_a_conversation_wider_than_a_phone(
    sites: dict[str, Path], tmp_path: Path
) -> None:
    """The control: the same page with one wide element in the conversation overflows."""
    thread = '<ol class="engage-thread">'
    wide = f'<pre style="min-width: 600px; white-space: pre">wide</pre>{thread}'
    seen = on_a_phone(sites["simple"], tmp_path, lambda page: page.replace(thread, wide, 1))
    assert seen.get("width") == "375" and seen.get("overflow") == "true"


@pytest.mark.browser
@browser_present
def test_the_same_article_in_five_themes_is_screenshotted(
    sites: dict[str, Path], tmp_path: Path
) -> None:
    """build/screenshots/themes.png: each theme at 375 x 900, scrolled to the conversation."""
    host = framed(tmp_path, {name: probed(root) for name, root in sites.items()}, "#shot")
    shot = tmp_path / "themes.png"
    width = len(sites) * (375 + 8) - 8
    chromium(host.as_uri(), tmp_path, f"--window-size={width},930", f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 50_000
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "themes.png").write_bytes(data)


# Runs inside the article page; reports to the page that frames it (file: pages are
# each their own origin, so it cannot read the frame itself).
PROBE = """<script>
(function () {
  var seen = {probe: 'ran', width: innerWidth};
  var block = document.querySelector('[data-engage="inserted"]');
  var box = block ? block.getBoundingClientRect() : {width: 0, height: 0, top: 0, right: 0};
  var style = block ? getComputedStyle(block) : {};
  seen.box = [box.top + scrollY, box.right, box.width, box.height].join(',');
  seen.visible = box.width > 200 && box.height > 300 && style.visibility === 'visible' &&
    style.display !== 'none' && style.opacity !== '0';
  var answer = document.querySelector('.engage-replies .engage-replies .is-author');
  var top = document.querySelector('.engage-thread > .engage-thread-item > .h-cite');
  seen.nested = !!(answer && top &&
    answer.getBoundingClientRect().left > top.getBoundingClientRect().left);
  // The right edge of the block's content, leaving out what scrolls inside its own box.
  var right = box.right;
  (block ? block.querySelectorAll('*') : []).forEach(function (el) {
    for (var up = el.parentElement; up && up !== block; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return;
    }
    right = Math.max(right, el.getBoundingClientRect().right);
  });
  var page = document.documentElement.scrollWidth;
  seen.widths = [page, innerWidth, right].join(',');
  seen.overflow = page > innerWidth || right > innerWidth;
  if (location.hash === '#shot' && block) scrollTo(0, box.top + scrollY - 120);
  parent.postMessage(seen, '*');
})();
</script>"""
# Chromium's headless window is at least 500 px wide: a frame gives the page 375.
FRAMES = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{margin:0;display:flex;gap:8px;background:#777;font:14px sans-serif}}
figure{{margin:0}}figcaption{{color:#fff;padding:4px 8px}}
iframe{{display:block;width:375px;height:900px;border:0;background:#fff}}</style></head>
<body>{frames}<script>
addEventListener('message', function (e) {{
  for (var k in e.data) document.documentElement.setAttribute('data-' + k, String(e.data[k]));
}});
</script></body></html>"""


def probed(root: Path, change: Callable[[str], str] = str) -> Path:
    """A copy of the article page (``change``d) with the probe; the built page stays as built."""
    page = root / "output" / "conversation.probe.html"
    html = change(read(root, "conversation.html"))
    page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    return page


def framed(folder: Path, pages: dict[str, Path], fragment: str = "") -> Path:
    """A page framing each of ``pages`` in a 375 x 900 phone-sized frame, captioned."""
    frames = "".join(
        f'<figure><figcaption>{name}</figcaption><iframe src="{page.as_uri()}{fragment}"'
        f' title="{name}"></iframe></figure>'
        for name, page in pages.items()
    )
    host = folder / "frames.html"
    host.write_text(FRAMES.format(title="themes", frames=frames), encoding="utf-8")
    return host


def on_a_phone(root: Path, tmp: Path, change: Callable[[str], str] = str) -> dict[str, str]:
    """What the probe saw of the article page in a 375 px wide frame."""
    host = framed(tmp, {root.name: probed(root, change)})
    dom = BeautifulSoup(chromium(host.as_uri(), tmp, "--dump-dom"), "html.parser")
    assert dom.html is not None
    return {k[5:]: str(v) for k, v in dom.html.attrs.items() if k.startswith("data-")}


# -- one theme, one question each -------------------------------------------------------


@pytest.fixture
def notmyidea(tmp_path: Path) -> Path:
    return make_site(tmp_path / "site", THEME="notmyidea")


def conversations(root: Path, name: str = "conversation.html") -> BeautifulSoup:
    return BeautifulSoup(read(root, name), "html.parser")


def test_the_setting_turns_it_off(notmyidea: Path) -> None:
    build(notmyidea, ENGAGE_INSERT_CONVERSATION=False)
    page = read(notmyidea.parent, "conversation.html")
    assert "data-engage" not in page and "Bob Marsh" not in page


def test_a_theme_that_includes_the_partial_shows_it_once(notmyidea: Path) -> None:
    build(notmyidea, THEME=str(REPO / "theme"))  # this repository's theme includes it
    page = conversations(notmyidea.parent)
    assert len(page.select(".engage-conversation")) == 1
    assert page.select(INSERTED) == [] and page.select(".engage-page") == []


def test_a_translation_page_gets_its_conversation_too(notmyidea: Path) -> None:
    root = notmyidea.parent
    write_post(
        root / "content",
        "conversation-fr",
        f"Les petits serveurs, ce sont surtout des gens.\n\n## My take\n\n{TAKE}",
        Title="Faire tourner un petit serveur",
        Slug="conversation",
        Lang="fr",
    )
    for key in ("content/conversation.md", "content/conversation-fr.md"):
        store_thread(root / "engage.sqlite3", key, "mastodon", [comment_on(key)])
    build(notmyidea)
    for name in ("conversation.html", "conversation-fr.html"):
        page = conversations(root, name)
        assert len(page.select(INSERTED)) == 1, name
        assert len(page.select(".engage-conversation")) == 1, name


def comment_on(key: str) -> Any:
    return comment(f"t-{Path(key).stem}", "root", "Tess Ward", "<p>Merci !</p>", 70)


def test_the_content_cache_never_holds_the_conversation(notmyidea: Path) -> None:
    """Pelican caches what it read from the sources; the comments must stay out of it."""
    root = notmyidea.parent
    cache = {"CACHE_CONTENT": True, "LOAD_CONTENT_CACHE": True, "CACHE_PATH": str(root / "cache")}
    build(notmyidea, **cache)
    late = comment("late", "root", "Lin Ko", "<p>Late to the party, but thank you.</p>", 90)
    thread = [*FRIENDLY_BLUESKY, late]
    store_thread(root / "engage.sqlite3", "content/conversation.md", "bluesky", thread)
    build(notmyidea, **cache)  # the articles come from the cache this time
    blocks = conversations(root).select(INSERTED)
    assert len(blocks) == 1 and "Late to the party" in blocks[0].get_text()
    cached = b"".join(gzip.decompress(p.read_bytes()) for p in (root / "cache").glob("*"))
    assert b"Small servers are mostly about people" in cached  # the cache is what we think
    assert b"Bob Marsh" not in cached and b"data-engage" not in cached


def test_the_page_gets_it_after_the_content_or_before_the_closing_tags() -> None:
    block = '<div data-engage="conversation">C</div>'
    assert insert("<main><p>body</p><aside/></main>", block, "<p>body</p>") == (
        f"<main><p>body</p>\n{block}\n<aside/></main>"
    )
    for page, before in [
        ("<article><p>Body</p></article><nav/>", "</article>"),  # a theme changed the text
        ("<main><p>Body</p></main><footer/>", "</main>"),
        ("<div><p>Body</p></div></BODY>", "</BODY>"),
    ]:
        assert insert(page, block, "<p>body</p>") == page.replace(before, f"\n{block}\n{before}")
    assert insert("<p>no place</p>", block, "") is None
    assert insert(f"<article>{block}</article>", block, "") is None  # never twice
