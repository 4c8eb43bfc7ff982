"""`engage draft --from-feed`: from an RSS, Atom or broken feed to a draft the gate holds back."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from sitebuilder import TAKE, write_settings

from pelican.plugins.engage.answering import drafts
from pelican.plugins.engage.cli import cli
from pelican.plugins.engage.http_client import USER_AGENT
from pelican.plugins.engage.sandbox.base import Request, Response, StandIn, route

ARTICLE = [
    (
        "For about a decade, saying you read the web through a feed reader marked you as a "
        "holdout. The big platforms had timelines and recommendations, and feeds looked like "
        "plumbing that only developers cared about."
    ),
    (
        "Over the past year friends who had never heard of RSS installed a reader because a "
        "newsletter moved off a platform they had left. Nobody announced it. Feeds came back "
        "the way they left, one small decision at a time."
    ),
    (
        "Almost every blog engine and newsletter tool still writes a feed by default, often "
        "without the author knowing. The infrastructure was waiting the whole time; readers "
        "just had to come back to it."
    ),
]
FIRST_SENTENCE = (
    "For about a decade, saying you read the web through a feed reader marked you as a holdout."
)

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Example Blog{entity}</title><link>{base}/</link><description>Notes</description>
<item><title>Feeds are back</title><link>{base}/posts/feeds-are-back</link>
  <dc:creator>Jane Doe</dc:creator><pubDate>Mon, 02 Nov 2026 07:30:00 +0000</pubDate>
  <description>People are installing feed readers again.</description>
  <content:encoded>{article}</content:encoded></item>
<item><title>Make a blogroll</title><link>{base}/posts/make-a-blogroll</link>
  <dc:creator>Jane Doe</dc:creator><pubDate>Mon, 19 Oct 2026 08:00:00 +0000</pubDate>
  <description>The oldest discovery tool on the web still works.
  Mine took an afternoon.</description>
</item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>Sam's notes</title><id>tag:sam.example,2026:notes</id><updated>2026-10-24T09:00:00Z</updated>
<author><name>Sam Okafor</name></author>
<entry><title>Five years of a small instance</title><id>tag:sam.example,2026:1</id>
  <link rel="alternate" href="/posts/five-years"/><updated>2026-10-24T09:00:00Z</updated>
  <content type="html">&lt;p&gt;The software is the easy part. People take the rest of
  your time, and not in the way you expect.&lt;/p&gt;</content></entry>
<entry><title type="html">&lt;em&gt;Rules&lt;/em&gt; explained afterwards</title>
  <id>tag:sam.example,2026:2</id><link rel="alternate" href="/posts/rules"/>
  <author><name>Guest Writer</name></author><updated>2026-10-20T09:00:00Z</updated>
  <summary>Rules written in advance are worth much less than rules explained afterwards.</summary>
</entry>
</feed>"""

# Missing link, a link that cannot be a Source, missing title, entities and Markdown in text.
BROKEN = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Odd Feed</title><link>{base}/</link><description>d</description>
<item><title>Lost its link</title><description>No way to point at this one.</description></item>
<item><title>Write to me</title><link>mailto:someone@example.org</link></item>
<item><link>{base}/posts/untitled-musings</link>
  <description>A note without a title. It still has something to say about feeds.</description>
</item>
<item><title>Cats &amp; dogs &#8212; a truce</title><link>{base}/posts/cats-and-dogs</link>
  <author>anon@example.org</author>
  <description>&lt;p&gt;The caf&amp;eacute; on *the* [corner] &lt;b&gt;is&lt;/b&gt;
  &amp;lt;open&amp;gt; again and the # sign stays.&lt;/p&gt;</description></item>
</channel></rss>"""

RSS_TYPE = "application/rss+xml; charset=utf-8"


class FeedSite(StandIn):
    """A site serving fixed feed documents, an article page, and a few failures."""

    network = "feed-site"

    def __init__(self) -> None:
        super().__init__()
        self.documents: dict[str, str] = {}

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def documents_for(self) -> dict[str, str]:
        base = self.base_url
        article = "".join(f"&lt;p&gt;{p}&lt;/p&gt;" for p in ARTICLE)
        return {
            "rss.xml": RSS.format(base=base, article=article, entity=""),
            "bozo.xml": RSS.format(base=base, article=article, entity="&nbsp;Extra"),
            "atom.xml": ATOM,
            "broken.xml": BROKEN.format(base=base),
            "empty.xml": RSS.format(base=base, article="", entity="").split("<item>")[0]
            + "</channel></rss>",
            "truncated.xml": '<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Hal',
        }

    @route("GET", r"/(?P<name>[\w.-]+\.xml)")
    def document(self, request: Request) -> Response:
        body = self.documents_for().get(request.params["name"])
        if body is None:
            return self.error(404, "Not Found")
        return Response(200, body, content_type=RSS_TYPE)

    @route("GET", r"/moved/atom")
    def moved(self, request: Request) -> Response:
        return Response(301, "", {"Location": "/atom.xml"}, content_type="text/plain")

    @route("GET", r"/page")
    def page(self, request: Request) -> Response:
        html = "<!doctype html><html><body><p>Just a page.</p></body></html>"
        return Response(200, html, content_type="text/html; charset=utf-8")

    def error(self, status: int, message: str) -> Response:
        return Response(status, message, content_type="text/plain")


@pytest.fixture(scope="module")
def server() -> Iterator[FeedSite]:
    with FeedSite() as running:
        yield running


@pytest.fixture
def blog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny site with no posts, as the working folder."""
    site = tmp_path / "blog"
    # The feed stand-in plays a stranger's site on 127.0.0.1: allowed as on a LAN deployment.
    write_settings(site, TIMEZONE="Europe/Berlin", ENGAGE_ALLOW_PRIVATE_ADDRESSES=True)
    monkeypatch.chdir(site)
    return site


def engage(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def metadata(path: Path) -> dict[str, str]:
    header = path.read_text(encoding="utf-8").split("\n\n", 1)[0]
    return dict(line.split(": ", 1) for line in header.splitlines())


def check_json(*args: str) -> tuple[int, dict[str, dict[str, object]]]:
    result = engage("check", "--json", *args)
    report = json.loads(result.stdout)
    return result.exit_code, {a["source_path"]: a for a in report["articles"]}


# -- RSS and Atom --------------------------------------------------------------------------


def test_list_shows_the_entries_and_writes_nothing(server: FeedSite, blog: Path) -> None:
    result = engage("draft", "--from-feed", server.url("rss.xml"), "--list")
    assert result.exit_code == 0, result.output
    assert "Example Blog" in result.stdout
    assert re.search(r"1 │ 2026-11-02 │ Feeds are back +│ Jane Doe", result.stdout)
    assert re.search(r"2 │ 2026-10-19 │ Make a blogroll +│ Jane Doe", result.stdout)
    assert list((blog / "content").iterdir()) == []
    assert server.calls("GET", "/rss.xml")[-1].headers["user-agent"] == USER_AGENT


def test_draft_from_an_rss_entry(server: FeedSite, blog: Path) -> None:
    result = engage("draft", "--from-feed", server.url("rss.xml"), "--pick", "1")
    assert result.exit_code == 0, result.output
    path = blog / "content" / "on-feeds-are-back.md"
    assert "Wrote content/on-feeds-are-back.md" in result.stdout
    assert "write your take under “## My take” (at least 40 words" in result.stdout
    assert "engage check" in result.stdout
    meta = metadata(path)
    assert meta == {
        "Title": "On “Feeds are back”",
        "Date": meta["Date"],
        "Slug": "on-feeds-are-back",
        "Status": "draft",
        "Source": server.url("posts/feeds-are-back"),
        "Source_Feed": server.url("rss.xml"),
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", meta["Date"])
    body = path.read_text(encoding="utf-8").split("\n\n", 1)[1]
    assert body == (
        f"Jane Doe writes in [Feeds are back]({server.url('posts/feeds-are-back')}):\n\n"
        f"> {FIRST_SENTENCE}\n\n"
        "— Jane Doe, *Feeds are back*\n\n"
        "## My take\n\n"
        "<!-- Your take: why does this matter to you? What do you add, disagree with, or know "
        "from experience? Write at least 40 words of your own (ENGAGE_MIN_COMMENTARY_WORDS), "
        "then delete this comment and the Status: draft line. -->\n"
    )


def test_draft_from_an_atom_entry_after_a_redirect(server: FeedSite, blog: Path) -> None:
    feed = server.url("moved/atom")
    listed = engage("draft", "--from-feed", feed, "--list")
    assert "Rules explained afterwards" in listed.stdout  # type="html" title, as text
    assert "Guest Writer" in listed.stdout and "Sam Okafor" in listed.stdout

    result = engage("draft", "--from-feed", feed, "--pick", "1")
    assert result.exit_code == 0, result.output
    path = blog / "content" / "on-five-years-of-a-small-instance.md"
    meta = metadata(path)
    # The relative link resolves against where the feed really is; Source_Feed stays as given.
    assert meta["Source"] == server.url("posts/five-years")
    assert meta["Source_Feed"] == feed
    text = path.read_text(encoding="utf-8")
    assert "Sam Okafor writes in [Five years of a small instance]" in text  # the feed's author
    assert (
        "> The software is the easy part. People take the rest of your time, "
        "and not in the way you expect.\n\n— Sam Okafor, *Five years of a small instance*"
    ) in text


def test_interactive_prompt_picks_an_entry(server: FeedSite, blog: Path) -> None:
    result = engage("draft", "--from-feed", server.url("rss.xml"), input="2\n")
    assert result.exit_code == 0, result.output
    assert "Draft from entry [1]: " in result.stdout
    assert "Make a blogroll" in result.stdout  # the table came first
    text = (blog / "content" / "on-make-a-blogroll.md").read_text(encoding="utf-8")
    assert f"Source: {server.url('posts/make-a-blogroll')}\n" in text
    # A first sentence this short takes the next one along.
    assert "> The oldest discovery tool on the web still works. Mine took an afternoon.\n" in text


def test_prompt_defaults_to_the_first_entry_and_rejects_bad_numbers(
    server: FeedSite, blog: Path
) -> None:
    result = engage("draft", "--from-feed", server.url("rss.xml"), input="7\n\n")
    assert result.exit_code == 0, result.output
    assert "7 is not in the range 1<=x<=2" in result.output
    assert (blog / "content" / "on-feeds-are-back.md").exists()


def test_file_feeds_relative_to_the_site_folder(
    server: FeedSite, blog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = blog / "content" / "sources"
    saved.mkdir()
    (saved / "blog.xml").write_text(server.documents_for()["rss.xml"], encoding="utf-8")
    monkeypatch.chdir(blog.parent)  # not the site folder: paths are relative to the site
    settings = str(blog / "pelicanconf.py")

    result = engage(
        "draft", "-s", settings, "--from-feed", "content/sources/blog.xml", "--pick", "2"
    )
    assert result.exit_code == 0, result.output
    meta = metadata(blog / "content" / "on-make-a-blogroll.md")
    assert meta["Source_Feed"] == "file:content/sources/blog.xml"
    assert meta["Source"] == server.url("posts/make-a-blogroll")

    listed = engage(
        "draft", "-s", settings, "--from-feed", "file:content/sources/blog.xml", "--list"
    )
    assert listed.exit_code == 0 and "Feeds are back" in listed.stdout


# -- broken feeds --------------------------------------------------------------------------


def test_broken_entries_are_skipped_or_listed_by_link(server: FeedSite, blog: Path) -> None:
    result = engage("draft", "--from-feed", server.url("broken.xml"), "--list")
    assert result.exit_code == 0, result.output
    notes = " ".join(result.stderr.split())
    assert "Skipped entry 1 (Lost its link): it has no link, so it cannot be a post's Source." in (
        notes
    )
    assert "Skipped entry 2 (Write to me): its link 'mailto:someone@example.org' is not" in notes
    assert "Entry 3 has no title; it is listed by its link." in notes
    rows = [line for line in result.stdout.splitlines() if re.match(r"│ +\d │", line)]
    assert len(rows) == 2
    assert "untitled-musings" in rows[0] and "Odd Feed" in rows[0]  # the feed stands in
    assert "Cats & dogs — a truce" in rows[1]  # entities decoded


def test_draft_from_an_entry_without_a_title(server: FeedSite, blog: Path) -> None:
    result = engage("draft", "--from-feed", server.url("broken.xml"), "--pick", "1")
    assert result.exit_code == 0, result.output
    path = blog / "content" / "on-untitled-musings.md"  # slug from the link's last segment
    link = server.url("posts/untitled-musings")
    assert metadata(path)["Title"] == f"On “{link}”"
    assert "> A note without a title. It still has something to say about feeds.\n" in (
        path.read_text(encoding="utf-8")
    )


def test_entities_and_markdown_in_the_entry_stay_literal(server: FeedSite, blog: Path) -> None:
    result = engage("draft", "--from-feed", server.url("broken.xml"), "--pick", "2")
    assert result.exit_code == 0, result.output
    path = blog / "content" / "on-cats-dogs-a-truce.md"
    text = path.read_text(encoding="utf-8")
    assert "Title: On “Cats & dogs — a truce”\n" in text
    # No author in the entry (an e-mail address is not a name): the feed's title is credited.
    assert "Odd Feed writes in [Cats &amp; dogs — a truce]" in text
    assert r"> The café on \*the\* \[corner\] is &lt;open> again and the \# sign stays." in text

    _, articles = check_json()
    assert articles["content/on-cats-dogs-a-truce.md"]["title"] == "On “Cats & dogs — a truce”"


def test_bozo_feed_is_used_with_a_warning(server: FeedSite, blog: Path) -> None:
    result = engage("draft", "--from-feed", server.url("bozo.xml"), "--pick", "1")
    assert result.exit_code == 0, result.output
    assert "The feed is not well-formed (undefined entity at line 4)" in " ".join(
        result.stderr.split()
    )
    assert (blog / "content" / "on-feeds-are-back.md").exists()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("empty.xml", "the feed {url} has no entries."),
        ("truncated.xml", "the feed {url} has no entries (no element found at line 2)."),
        ("page", "{url} is not an RSS or Atom feed."),
        ("missing.xml", "the feed {url} answered HTTP 404."),
    ],
)
def test_feeds_without_entries_are_one_sentence_errors(
    server: FeedSite, blog: Path, path: str, message: str
) -> None:
    url = server.url(path)
    result = engage("draft", "--from-feed", url, "--pick", "1")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message.format(url=url)[:-1]}\n"
    assert list((blog / "content").iterdir()) == []


def test_feed_faults_are_one_sentence_each(tmp_path: Path) -> None:
    """Through the one HTTP path: a stalled feed, a redirect loop, a gzip-encoded feed."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/slow.xml":
            raise httpx.ReadTimeout("stalled", request=request)
        if request.url.path == "/packed.xml":
            body = gzip.compress(
                RSS.format(base="https://blog.example", entity="", article="x").encode()
            )
            headers = {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
            return httpx.Response(200, content=body, headers=headers)
        return httpx.Response(301, headers={"Location": request.url.path})

    transport = httpx.MockTransport(handler)

    def read(path: str) -> drafts.Feed:
        url = f"https://blog.example{path}?key=secret"
        return drafts.read_feed(url, tmp_path, timeout=2, transport=transport)

    with pytest.raises(drafts.DraftError) as caught:
        read("/slow.xml")
    assert str(caught.value) == (
        "the feed https://blog.example/slow.xml did not answer within 2 seconds"
    )
    with pytest.raises(drafts.DraftError, match="redirects too many times") as caught:
        read("/loop.xml")
    assert "secret" not in str(caught.value)
    assert [e.title for e in read("/packed.xml").entries] == ["Feeds are back", "Make a blogroll"]


def test_unreachable_feed(blog: Path) -> None:
    result = engage("draft", "--from-feed", "http://127.0.0.1:9/feed.xml", "--list")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: could not reach the feed http://127.0.0.1:9/feed.xml (connection failed)\n"
    )
    missing = engage("draft", "--from-feed", "feeds/none.xml", "--list")
    assert missing.exit_code == 2
    assert "cannot read the feed file" in missing.stderr and "none.xml" in missing.stderr
    odd = engage("draft", "--from-feed", "ftp://127.0.0.1/feed.xml", "--list")
    assert odd.stderr == (
        "Error: the feed 'ftp://127.0.0.1/feed.xml' is neither an http(s) URL nor a file\n"
    )


def test_pick_beyond_the_list(server: FeedSite, blog: Path) -> None:
    result = engage("draft", "--from-feed", server.url("rss.xml"), "--pick", "3")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: there is no entry 3 in the feed {server.url('rss.xml')}, "
        "which has 2 usable entries\n"
    )


def test_never_overwrites_a_post(server: FeedSite, blog: Path) -> None:
    path = blog / "content" / "on-feeds-are-back.md"
    path.write_text("Title: My own words\n\nKeep me.\n", encoding="utf-8")
    result = engage("draft", "--from-feed", server.url("rss.xml"), "--pick", "1")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path} already exists; edit that post")
    assert path.read_text(encoding="utf-8") == "Title: My own words\n\nKeep me.\n"


# -- the gate ------------------------------------------------------------------------------


def test_the_gate_holds_the_draft_back_until_the_take_is_written(
    server: FeedSite, blog: Path
) -> None:
    engage("draft", "--from-feed", server.url("rss.xml"), "--pick", "1")
    path = blog / "content" / "on-feeds-are-back.md"
    key = "content/on-feeds-are-back.md"

    # Pelican reads it; as a draft it is no candidate, and its empty section counts 0 words.
    code, articles = check_json()
    assert code == 0  # no candidate fails
    fresh = articles[key]
    assert fresh["title"] == "On “Feeds are back”" and fresh["slug"] == "on-feeds-are-back"
    assert fresh["candidate"] is False and fresh["eligible"] is False
    assert fresh["commentary_words"] == 0  # the prompt is an HTML comment: not a word
    assert {"code": "too_short", "message": "commentary has 0 words, 40 needed"} in fresh["reasons"]

    # Written and published: the take is checked against the entry in the same local feed.
    text = path.read_text(encoding="utf-8").replace("Status: draft\n", "")
    text = re.sub(r"<!--.*?-->\n", TAKE + "\n", text, flags=re.S)
    path.write_text(text, encoding="utf-8")
    code, articles = check_json()
    written = articles[key]
    assert written["candidate"] is True
    assert (written["eligible"], written["reasons"]) == (True, [])
    assert written["commentary_words"] >= 40
    assert server.calls("GET", "/rss.xml")  # the copy check read the feed

    # The copy check is really on: a take lifted from the article is caught.
    path.write_text(text.replace(TAKE, ARTICLE[1] + " " + ARTICLE[2]), encoding="utf-8")
    code, articles = check_json()
    assert code == 1
    assert [r["code"] for r in articles[key]["reasons"]] == ["copied_from_source"]


def test_the_draft_builds_only_into_drafts(server: FeedSite, blog: Path) -> None:
    from pelican.plugins.engage import site

    engage("draft", "--from-feed", server.url("rss.xml"), "--pick", "1")
    settings = site.load_settings(blog / "pelicanconf.py")
    site.build_site(settings)
    output = blog / "output"
    assert not (output / "on-feeds-are-back.html").exists()
    page = (output / "drafts" / "on-feeds-are-back.html").read_text(encoding="utf-8")
    assert "<blockquote>" in page and "For about a decade" in page
    assert "My take</h2>" in page


# -- the quote -----------------------------------------------------------------------------


def test_the_quote_is_short_whatever_the_entry() -> None:
    long_sentence = " ".join(f"word{i}" for i in range(100)) + "."
    assert drafts.short_quote(long_sentence) == " ".join(f"word{i}" for i in range(30)) + " …"
    assert drafts.short_quote("Short one. Another short one. A third that is long enough.") == (
        "Short one. Another short one. A third that is long enough."
    )
    assert drafts.short_quote(" ".join(ARTICLE)) == FIRST_SENTENCE
    assert drafts.short_quote("") == ""


def test_a_feed_whose_entries_all_lack_links_is_an_error() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>One</title></item><item><title>Two</title><link>posts/two</link></item>"
        b"</channel></rss>"
    )
    with pytest.raises(drafts.DraftError) as caught:
        drafts.parse_feed(body, "file:feeds/t.xml")  # a relative link cannot resolve in a file
    assert str(caught.value) == (
        "none of the 2 entries of the feed file:feeds/t.xml has an http(s) link to comment on"
    )
