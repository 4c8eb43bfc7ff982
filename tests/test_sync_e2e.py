"""`engage sync` against the stand-ins of all six networks, then a real build of the page.

One blog post is syndicated to Mastodon, Bluesky, X and Facebook (the ledger
is seeded with what each adapter really published), receives webmentions at
its URL and names a Comments_Feed. Replies are written on the stand-ins by
several accounts, at several depths; the tests then run the command line and
read the built HTML the way a reader (or a microformats parser) would.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag
from click.testing import CliRunner
from network_fixtures import write_recent_post
from sitebuilder import TAKE, write_post, write_settings

from pelican.plugins.engage import site
from pelican.plugins.engage.cli import cli
from pelican.plugins.engage.networks import build_adapter
from pelican.plugins.engage.networks.base import AdapterContext, OutgoingPost
from pelican.plugins.engage.sandbox import start_all
from pelican.plugins.engage.sandbox.base import StandIn
from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication.ledger import Entry, Ledger

SOCIAL = ("mastodon", "bluesky", "x", "facebook")
SITEURL = "https://blog.example.net"
ARTICLE_URL = f"{SITEURL}/hello.html"
LABEL = {"mastodon": "Mastodon", "bluesky": "Bluesky", "x": "X", "facebook": "Facebook"}


@pytest.fixture(scope="module")
def standins() -> Iterator[dict[str, StandIn]]:
    running = start_all()
    for standin in running.values():
        standin.timeout_seconds = 1.5  # a "timeout" fault stalls this long (adapters wait 1 s)
    yield running
    for standin in running.values():
        standin.stop()


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by the module's blogs, so Bluesky resumes its session instead of logging in."""
    return tmp_path_factory.mktemp("state")


class Blog:
    """A one-post blog syndicated to the stand-ins, driven through the command line."""

    def __init__(self, root: Path, standins: dict[str, StandIn], state_dir: Path) -> None:
        self.root = root
        self.standins = standins
        self.state_dir = state_dir
        self.env = {k: v for s in standins.values() for k, v in s.environment().items()}
        # Notifications off: these tests pin the per-conversation schedule (two plain runs
        # are two complete reads); notification-driven sync is tests/test_notifications*.py.
        self.networks = {
            n: {**s.network_options(), "timeout": 1, "notifications": False}
            for n, s in standins.items()
        }
        self.roots: dict[str, str] = {}  # network -> id of the syndicated post on the stand-in
        self.write_settings()
        feed = standins["feed"].feed_url("hello")
        posted = write_recent_post(root / "content", Comments_Feed=feed)
        other = f"## My take\n\n{TAKE} Another one."
        write_post(root / "content", "other", other, Date=f"{posted:%Y-%m-%d %H:%M}")

    def write_settings(self, **extra: Any) -> None:
        write_settings(
            self.root,
            SITEURL=SITEURL,
            ENGAGE_NETWORKS=self.networks,
            ENGAGE_STATE_DIR=str(self.state_dir),
            **extra,
        )

    @property
    def conf(self) -> Path:
        return self.root / "pelicanconf.py"

    def syndicate(self) -> None:
        """What the syndication step would have recorded: one first post per network."""
        ctx = AdapterContext(env=self.env, state_dir=self.state_dir)
        now = datetime.now(UTC) - timedelta(hours=2)
        with Store.open(self.root / "engage.sqlite3") as store:
            ledger = Ledger(store)
            for network in SOCIAL:
                key = f"hello-{network}-{os.urandom(4).hex()}"
                with build_adapter(network, self.networks[network], ctx) as adapter:
                    ref = adapter.publish(
                        OutgoingPost(
                            text=f"My take on quiet servers ({network})",
                            idempotency_key=key,
                            link=ARTICLE_URL,
                            created_at=now,
                        )
                    )
                entry = ledger.add(
                    Entry("content/hello.md", network, 0, "t", ARTICLE_URL, now, key, now)
                )
                ledger.mark_posted(entry, ref)
                self.roots[network] = self.standins[network].posts_by("author")[-1].id

    def sync(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["sync", "-s", str(self.conf), *args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout

    def build(self, **override: Any) -> BeautifulSoup:
        site.build_site(site.load_settings(self.conf, override))
        return self.page()

    def page(self, slug: str = "hello") -> BeautifulSoup:
        html = (self.root / "output" / f"{slug}.html").read_text(encoding="utf-8")
        return BeautifulSoup(html, "html.parser")


@pytest.fixture
def blog(
    tmp_path: Path,
    standins: dict[str, StandIn],
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Blog:
    for standin in standins.values():
        standin.reset()
    created = Blog(tmp_path / "blog", standins, state_dir)
    for key, value in created.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(created.root)
    created.syndicate()
    return created


def converse(blog: Blog) -> dict[str, dict[str, str]]:
    """Bob answers the post, Carol answers Bob, the author answers Carol, Dave answers the
    post: on every social network, a minute apart, networks in the order of SOCIAL. Returns
    network -> role -> stand-in item id."""
    ids: dict[str, dict[str, str]] = {}
    start = datetime.now(UTC) - timedelta(minutes=90)
    clock = iter(start + timedelta(minutes=i) for i in range(99))

    def say(standin: StandIn, parent: str, who: str, text: str) -> str:
        return standin.add_reply(parent, who, text, created_at=next(clock)).id

    for network in SOCIAL:
        standin = blog.standins[network]
        bob = say(standin, blog.roots[network], "bob", f"Bob on {network}: good point")
        carol = say(standin, bob, "carol", f"Carol on {network}: I disagree with Bob")
        author = say(standin, carol, "author", f"Author on {network}: fair, Carol")
        dave = say(standin, blog.roots[network], "dave", f"Dave on {network}: bookmarked")
        standin.like(blog.roots[network], "carol", "eve")
        ids[network] = {"bob": bob, "carol": carol, "author": author, "dave": dave}
    web = blog.standins["webmention"]
    mention = web.add_mention(ARTICLE_URL, author="bob", html="<p>Bob on the web: replied</p>")
    web.add_reply(mention.id, "carol", "Carol on the web: answering Bob's post")
    web.like(ARTICLE_URL, "dave")
    feed = blog.standins["feed"]
    feed.add_comment("hello", "eve", "Eve in the comment feed: thanks")
    ids["webmention"] = {"bob": mention.id}
    return ids


def comment(page: BeautifulSoup, text: str) -> Tag:
    """The innermost comment (h-cite) whose own body contains ``text``."""
    for body in page.select(".h-cite .e-content"):
        if text in body.get_text():
            found = body.find_parent(class_="h-cite")
            assert isinstance(found, Tag)
            return found
    raise AssertionError(f"no comment saying {text!r} on the page")


def has_comment(page: BeautifulSoup, text: str) -> bool:
    return any(text in b.get_text() for b in page.select(".h-cite .e-content"))


def nested_in(child: Tag, parent: Tag) -> bool:
    return parent in child.find_parents(class_="h-cite")


# -- the conversation on the page ---------------------------------------------------------------


def test_nested_replies_from_every_network_show_threaded_on_the_page(blog: Blog) -> None:
    converse(blog)
    code, out = blog.sync("--json")
    report = json.loads(out)
    assert code == 0 and report["ok"], out
    for network in (*SOCIAL, "webmention", "feed"):
        assert report["networks"][network]["errors"] == 0, network
    assert {n: report["networks"][n]["new"] for n in SOCIAL} == dict.fromkeys(SOCIAL, 4)

    page = blog.build()
    for network in SOCIAL:
        bob = comment(page, f"Bob on {network}")
        carol = comment(page, f"Carol on {network}")
        answer = comment(page, f"Author on {network}")
        dave = comment(page, f"Dave on {network}")
        assert nested_in(carol, bob) and nested_in(answer, carol)
        assert not bob.find_parents(class_="h-cite") and not nested_in(dave, bob)
        # The author's answer is marked as such; the others are not.
        assert "is-author" in answer["class"]
        assert answer.select_one(".engage-badge").text == "Author"
        assert "is-author" not in carol["class"]
        # A link to the original, to answer there.
        reply = bob.select_one(".engage-comment-actions a")
        assert reply is not None and reply.get_text(" ", strip=True).startswith(
            f"Reply on {LABEL[network]}"
        )
        assert reply["href"] == bob.select_one(".dt-published").find_parent("a")["href"]
        # microformats2: h-card author, what each answers.
        assert bob.select_one(".p-author.h-card .p-name").text == "Bob Marsh"
        assert bob.select_one(".u-in-reply-to")["value"] == ARTICLE_URL
        assert carol.select_one(".u-in-reply-to")["value"] == reply["href"]
    # webmention.io names the article in every in-reply-to (test_conformance_webmention.py):
    # a reply to a reply on the web is shown flat, under the article.
    assert comment(page, "Carol on the web").find_parents(class_="h-cite") == []
    assert comment(page, "Eve in the comment feed").find_parents(class_="h-cite") == []

    # Top level in time order across networks: first written, first shown.
    tops = page.select("section > ol.engage-thread > li > .h-cite")
    times = [datetime.fromisoformat(c.select_one(".dt-published")["datetime"]) for c in tops]
    assert times == sorted(times) and len(tops) == 4 * len(SOCIAL) // 2 + 3
    assert tops[0].select_one(".e-content").get_text().startswith("Bob on mastodon")

    counts = page.select_one(".engage-counts").get_text(" ", strip=True)
    for network in SOCIAL:
        assert f"{LABEL[network]}: 2 likes, 4 replies" in counts
    assert "The web: 1 like, 2 replies" in counts
    # Comments stay with their own article.
    assert not blog.page("other").select(".h-cite")


def test_an_edited_reply_updates_in_place(blog: Blog) -> None:
    ids = converse(blog)
    assert blog.sync()[0] == 0
    for network in SOCIAL:
        blog.standins[network].edit(ids[network]["bob"], f"Bob on {network}: edited, better point")
    blog.standins["webmention"].edit(ids["webmention"]["bob"], "", "<p>Bob on the web: edited</p>")
    code, out = blog.sync("--json")
    assert code == 0
    assert all(json.loads(out)["networks"][n]["updated"] >= 1 for n in SOCIAL)
    # webmention.io shows an edit only to a full read: --all asks for one.
    assert blog.sync("--all")[0] == 0
    page = blog.build()
    for network in SOCIAL:
        edited = comment(page, f"Bob on {network}: edited")
        assert not has_comment(page, f"Bob on {network}: good point")
        assert nested_in(comment(page, f"Carol on {network}"), edited)  # same comment, same place
        assert edited.select_one(".dt-updated") is not None
    assert has_comment(page, "Bob on the web: edited")


def test_a_deleted_reply_goes_after_two_complete_reads_without_it(blog: Blog) -> None:
    ids = converse(blog)
    assert blog.sync()[0] == 0
    for network in SOCIAL:
        blog.standins[network].delete(ids[network]["dave"])
    blog.standins["webmention"].delete(ids["webmention"]["bob"])
    assert blog.sync("--all")[0] == 0
    page = blog.build()
    for network in SOCIAL:  # missing once: might be a hiccup, still shown
        assert has_comment(page, f"Dave on {network}")
    assert has_comment(page, "Bob on the web")
    code, out = blog.sync("--all", "--json")
    assert code == 0
    assert all(json.loads(out)["networks"][n]["removed"] == 1 for n in SOCIAL)
    page = blog.build()
    for network in SOCIAL:
        assert not has_comment(page, f"Dave on {network}")
        assert has_comment(page, f"Bob on {network}")
    assert not has_comment(page, "Bob on the web")


def test_plain_syncs_settle_a_deletion_on_the_next_run(blog: Blog) -> None:
    """Networks without an incremental read: two plain runs are two complete reads."""
    ids = converse(blog)
    blog.sync()
    blog.standins["mastodon"].delete(ids["mastodon"]["bob"])
    blog.sync()
    blog.sync()
    page = blog.build()
    assert not has_comment(page, "Bob on mastodon")
    assert not has_comment(page, "Carol on mastodon")  # its replies go with it


@pytest.mark.parametrize(
    ("network", "fault"),
    [
        ("mastodon", "503"),
        ("bluesky", "timeout"),
        ("x", "429"),
        ("facebook", "500"),
        ("webmention", "503"),
        ("feed", "503"),
    ],
)
def test_an_outage_removes_nothing_and_says_work_remains(
    blog: Blog, network: str, fault: str
) -> None:
    converse(blog)
    assert blog.sync()[0] == 0
    before = blog.build().select(".h-cite")
    standin = blog.standins[network]
    for _ in range(2):  # two failed runs in a row: still nothing removed
        standin.fail_next(10, fault, retry_after=60)
        code, out = blog.sync("--all")
        standin.clear_faults()
        assert code == 3, out
        assert "run `engage sync` again later" in out
    page = blog.build()
    assert len(page.select(".h-cite")) == len(before)
    assert blog.sync("--all")[0] == 0  # the network is back


def test_a_short_rate_limit_is_waited_out(blog: Blog) -> None:
    converse(blog)
    blog.standins["mastodon"].fail_next(1, "429", retry_after=1)
    code, out = blog.sync("--json")
    assert code == 0, out
    assert json.loads(out)["networks"]["mastodon"]["new"] == 4


def test_hidden_and_blocked_comments_stay_gone_after_later_syncs(blog: Blog) -> None:
    ids = converse(blog)
    assert blog.sync()[0] == 0
    # Network side: the thread's author hides a reply (Bluesky, X and Facebook support it).
    for network in ("bluesky", "x", "facebook"):
        blog.standins[network].hide(ids[network]["dave"])
    # Here: `engage hide` one comment, and blocklist an account.
    hidden_id = f"mastodon:{ids['mastodon']['dave']}"
    result = CliRunner().invoke(cli, ["hide", "-s", str(blog.conf), hidden_id])
    assert result.exit_code == 0, result.output
    blog.write_settings(ENGAGE_BLOCKLIST=["carol.bsky.social"])
    for _ in range(3):
        assert blog.sync("--all")[0] == 0
    blog.standins["mastodon"].edit(ids["mastodon"]["dave"], "Dave on mastodon: edited to return")
    assert blog.sync("--all")[0] == 0
    page = blog.build()
    for network in SOCIAL:
        assert not has_comment(page, f"Dave on {network}"), network
    assert not has_comment(page, "Carol on bluesky")
    assert not has_comment(page, "Author on bluesky")  # under a blocked comment: hidden too
    assert has_comment(page, "Carol on mastodon") and has_comment(page, "Bob on bluesky")


def test_hide_with_author_and_unknown_ids(blog: Blog) -> None:
    ids = converse(blog)
    blog.sync()
    runner = CliRunner()
    result = runner.invoke(cli, ["hide", "-s", str(blog.conf), "mastodon:nope"])
    assert result.exit_code == 2 and "there is no comment 'mastodon:nope'" in result.output
    cid = f"x:{ids['x']['bob']}"
    result = runner.invoke(cli, ["hide", "-s", str(blog.conf), cid, "--author"])
    assert result.exit_code == 0 and "Blocked Bob Marsh" in result.output
    blog.standins["x"].add_reply(blog.roots["x"], "bob", "Bob on x again, new account name")
    blog.sync()
    page = blog.build()
    assert not has_comment(page, "Bob on x") and has_comment(page, "Bob on mastodon")


def test_only_public_replies_are_kept(blog: Blog) -> None:
    mastodon = blog.standins["mastodon"]
    mastodon.add_reply(blog.roots["mastodon"], "bob", "Bob in private", visibility="direct")
    mastodon.add_reply(blog.roots["mastodon"], "carol", "Carol for followers", visibility="private")
    blog.standins["webmention"].add_mention(ARTICLE_URL, author="dave", private=True, text="psst")
    mastodon.add_reply(blog.roots["mastodon"], "eve", "Eve in public")
    blog.sync()
    page = blog.build()
    assert has_comment(page, "Eve in public")
    assert not any(has_comment(page, t) for t in ("Bob in private", "Carol for", "psst"))


def test_the_content_cache_still_shows_comments_fetched_since_the_last_build(blog: Blog) -> None:
    cache = {
        "CACHE_CONTENT": True,
        "LOAD_CONTENT_CACHE": True,
        "CACHE_PATH": str(blog.root / "cache"),
    }
    blog.standins["mastodon"].add_reply(blog.roots["mastodon"], "bob", "Bob before the build")
    blog.sync()
    assert has_comment(blog.build(**cache), "Bob before the build")
    blog.standins["mastodon"].add_reply(blog.roots["mastodon"], "carol", "Carol after it")
    blog.sync()
    page = blog.build(**cache)
    assert has_comment(page, "Carol after it") and has_comment(page, "Bob before the build")
    assert len(page.select(".engage-conversation")) == 1


def test_a_second_sync_with_nothing_new_changes_nothing(blog: Blog) -> None:
    converse(blog)
    blog.sync()
    code, out = blog.sync("--json")
    report = json.loads(out)
    assert code == 0 and not report["changed"]
    assert "Nothing new." in blog.sync()[1]


def test_article_option_and_its_errors(blog: Blog) -> None:
    converse(blog)
    code, out = blog.sync("--article", "hello", "--json")
    assert code == 0 and json.loads(out)["networks"]["mastodon"]["new"] == 4
    result = CliRunner().invoke(cli, ["sync", "-s", str(blog.conf), "--article", "nope"])
    assert result.exit_code == 2
    assert "there is no article with the slug 'nope'" in result.output


def test_missing_credentials_are_one_sentence_and_exit_3(
    blog: Blog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MASTODON_ACCESS_TOKEN")
    code, out = blog.sync()
    assert code == 3
    assert "set MASTODON_ACCESS_TOKEN in the environment" in out
    for value in blog.env.values():  # no other credential ends up in the output
        assert value not in out


def test_no_token_reaches_the_database_or_the_site(blog: Blog) -> None:
    converse(blog)
    blog.sync()
    blog.build()
    secret_names = ("TOKEN", "SECRET", "PASSWORD", "KEY")
    secrets = [v for k, v in blog.env.items() if any(n in k for n in secret_names)]
    assert len(secrets) >= 6
    database = (blog.root / "engage.sqlite3").read_bytes()
    wal = blog.root / "engage.sqlite3-wal"
    written = database + (wal.read_bytes() if wal.exists() else b"")
    pages = b"".join(p.read_bytes() for p in (blog.root / "output").rglob("*.html"))
    for secret in secrets:
        assert secret.encode() not in written and secret.encode() not in pages
