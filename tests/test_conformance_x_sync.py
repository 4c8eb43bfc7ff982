"""`engage sync` against the X stand-in, with conversations shaped like the recorded ones.

The third part of tests/test_conformance_x.py (which checks the adapter and the
stand-in against tests/recordings/x): a recorded-like conversation, whose replies
answer a parent found only in ``includes.tweets``, a deleted parent and a
protected one, is shown whole on the page; an app whose plan lacks recent search
exits 3 with one sentence about the plan and changes nothing; and the merge's
orphan rule holds for any adapter.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from network_fixtures import standin_fixtures
from sitebuilder import TAKE, write_post, write_settings
from test_conformance_x import recorded_conversation, ref

from pelican.plugins.engage.backfeed.conversation import load_conversations
from pelican.plugins.engage.backfeed.merge import ThreadKey, Threads
from pelican.plugins.engage.cli import cli
from pelican.plugins.engage.model import Author, Counts, RemoteComment, RemoteRef, ThreadSnapshot
from pelican.plugins.engage.networks import build_adapter
from pelican.plugins.engage.networks.base import AdapterContext
from pelican.plugins.engage.sandbox.base import Item
from pelican.plugins.engage.sandbox.x import XStandIn
from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication.ledger import Entry, Ledger

server, standin = standin_fixtures(XStandIn)


# -- `engage sync` against the stand-in ------------------------------------------------


class Site:
    """A one-post blog whose post went to X on the stand-in; sync and inbox via the CLI."""

    def __init__(self, root: Path, standin: XStandIn, posted: Item) -> None:
        self.root = root
        self.conf = root / "pelicanconf.py"
        networks = {"x": {**standin.network_options(), "timeout": 2}}
        write_settings(root, ENGAGE_NETWORKS=networks, ENGAGE_STATE_DIR=str(root / "state"))
        when = posted.created_at
        write_post(
            root / "content", "hello", f"## My take\n\n{TAKE}", Date=f"{when:%Y-%m-%d %H:%M}"
        )
        article = "https://blog.example.net/hello.html"
        with Store.open(root / "engage.sqlite3") as store:
            ledger = Ledger(store)
            entry = ledger.add(Entry("content/hello.md", "x", 0, "t", article, when, "k", when))
            ledger.mark_posted(entry, ref(posted.id))

    def sync(self) -> tuple[int, dict[str, Any]]:
        result = CliRunner().invoke(cli, ["sync", "--all", "--json", "-s", str(self.conf)])
        return result.exit_code, json.loads(result.stdout)

    def shown(self) -> list[str]:
        """Every comment text the article page shows, at any depth."""
        with Store.open(self.root / "engage.sqlite3") as store:
            conversation = load_conversations(store)["content/hello.md"]
        found, stack = [], list(conversation.comments)
        while stack:
            node = stack.pop()
            found.append(str(node.html))
            stack.extend(node.children)
        return sorted(found)


@pytest.fixture
def site_env(standin: XStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key, value in standin.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "site"


def test_sync_shows_every_reply_of_a_recorded_like_conversation(
    standin: XStandIn, site_env: Path
) -> None:
    """End to end: before the fix B, C, D (under A, only in includes), F (deleted parent)
    and H (protected parent) were stored under comments the site never had: 1 of 6 shown."""
    items = recorded_conversation(standin)
    site = Site(site_env, standin, items["root"])
    code, report = site.sync()
    assert code == 0, report
    shown = site.shown()
    for key in ("a", "b", "c", "d", "e", "f", "h"):
        assert any(items[key].text in html for html in shown), key
    assert not any(items["g"].text in html or items["i"].text in html for html in shown)
    with Store.open(site_env / "engage.sqlite3") as store:
        nested = store.comments.get(f"x:{items['c'].id}")
    assert nested is not None and nested["parent_id"] == f"x:{items['b'].id}"


def test_sync_with_a_plan_without_search_exits_3_and_keeps_every_comment(
    standin: XStandIn, site_env: Path
) -> None:
    items = recorded_conversation(standin)
    site = Site(site_env, standin, items["root"])
    assert site.sync()[0] == 0
    before = site.shown()
    assert len(before) == 7
    standin.search_enrolled = False
    for _ in range(3):  # three "reads" in a row: a complete one would have removed them
        code, report = site.sync()
        assert code == 3, report
        x = report["networks"]["x"]
        assert x["errors"] == 1 and x["removed"] == 0
        [message] = x["messages"]
        assert "access level does not include recent search" in message
        assert "Basic access level or higher" in message
    assert site.shown() == before


def remote(rid: str, parent: str, text: str) -> RemoteComment:
    return RemoteComment(
        ref=RemoteRef("x", rid, f"https://x.com/bob/status/{rid}"),
        parent_id=parent,
        author=Author(name="Bob", handle="bob", url="https://x.com/bob"),
        html=f"<p>{text}</p>",
        created_at=datetime(2026, 11, 2, 12, int(rid) % 60, tzinfo=UTC),
    )


def test_the_merge_hangs_a_reply_to_a_never_stored_comment_under_the_article(
    tmp_path: Path,
) -> None:
    """The orphan rule, whatever the adapter: a parent the site never stored (gone before we
    read it, or out of reach) no longer hides its replies; a stored but hidden parent still
    does. Before the fix the page showed none of these."""
    key = ThreadKey("content/hello.md", "x", "100")
    post = ref("100")
    with Store.open(tmp_path / "engage.sqlite3") as store:
        threads = Threads(store)
        orphans = [remote("200", "150", "Bob"), remote("300", "200", "Carol answers Bob")]
        threads.merge(key, ThreadSnapshot(post, Counts(), orphans), full=True)
        [top] = load_conversations(store)["content/hello.md"].comments
        assert top.id == "x:200" and [c.id for c in top.children] == ["x:300"]
        # The parent turns up after all: the reply moves under it.
        found = [remote("150", "100", "The parent"), *orphans]
        threads.merge(key, ThreadSnapshot(post, Counts(), found), full=True)
        [top] = load_conversations(store)["content/hello.md"].comments
        assert top.id == "x:150" and [c.id for c in top.children] == ["x:200"]
        # A hidden parent hides its replies, as before.
        threads.hide("x:150")
        threads.merge(key, ThreadSnapshot(post, Counts(), found), full=True)
        assert "content/hello.md" not in load_conversations(store)


def test_a_stale_cursor_on_the_standin_is_read_again_in_full(standin: XStandIn) -> None:
    items = recorded_conversation(standin)
    ctx = AdapterContext(env=standin.environment())
    with build_adapter("x", {**standin.network_options(), "timeout": 2}, ctx) as adapter:
        snapshot = adapter.fetch_thread(ref(items["root"].id), cursor="1275000000000000000")
    assert len(snapshot.comments) == 7  # every visible reply: A to F and H
    searches = standin.calls("GET", r"/2/tweets/search/recent")
    assert [s.arg("since_id") for s in searches] == ["1275000000000000000", None]
