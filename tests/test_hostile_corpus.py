"""The hostile corpus through the real path: `engage sync` → the build → `engage inbox`.

A stranger's JF2 endpoint (standing in for webmention.io) and a stranger's
comment feed answer from 127.0.0.1 with every field at its worst (see
``hostile_corpus``), avatars are compressed bombs, and a reply chain runs
1,200 deep. Nothing may crash the sync or the build, no stranger may be
marked the author, the page may hold no live script or script URL, and no
command may print a control character.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from hostile_corpus import BLOG, bomb, comment_feed, mentions
from hostile_server import HostileServer, Route, Seen, hostile_server
from sitebuilder import TAKE, write_post, write_settings

from pelican.plugins.engage import site
from pelican.plugins.engage.backfeed import conversation
from pelican.plugins.engage.cli import cli
from pelican.plugins.engage.model import web_url
from pelican.plugins.engage.store import Store

CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
ARTICLE_URL = f"{BLOG}/hello.html"


def jf2_pages(children: list[Any]) -> Any:
    def respond(seen: Seen) -> Route:
        query = parse_qs(urlsplit(seen.path).query)
        page, per = int(query.get("page", ["0"])[0]), int(query.get("per-page", ["100"])[0])
        body = {"type": "feed", "children": children[page * per : (page + 1) * per]}
        return Route(headers={"Content-Type": "application/json"}, body=json.dumps(body).encode())

    return respond


def serve_corpus(server: HostileServer) -> None:
    server.route("/bomb.png", headers={"Content-Type": "image/png", "Content-Encoding": "zstd"},
                 body=bomb("zstd"))  # fmt: skip
    server.answer("/api/mentions.jf2", jf2_pages(mentions(ARTICLE_URL, server.url("/bomb.png"))))
    server.route("/api/count.json", headers={"Content-Type": "application/json"},
                 body=b'{"type": {"like": 10000000000000000000000, "reply": -4}}')  # fmt: skip
    server.route("/comments.atom", headers={"Content-Type": "application/atom+xml"},
                 body=comment_feed().encode())  # fmt: skip


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("hostile-blog")
    with hostile_server() as server:
        serve_corpus(server)
        conf = write_settings(
            root,
            SITEURL=BLOG,
            ENGAGE_SHOW_GATE=False,
            ENGAGE_AVATARS="cache",
            ENGAGE_NETWORKS={
                "webmention": {"base_url": server.base, "timeout": 10, "me": BLOG},
                "feed": {"timeout": 10},
            },
        )
        write_post(root / "content", "hello", f"## My take\n\n{TAKE}", Title="Hello",
                   Slug="hello", Comments_Feed=server.url("/comments.atom"))  # fmt: skip
        runner = CliRunner()
        syncs = [runner.invoke(cli, ["sync", "-s", str(conf), "--json"]) for _ in range(2)]
        requests = list(server.seen)
    site.build_site(site.load_settings(conf))
    page = (root / "output" / "hello.html").read_text(encoding="utf-8")
    inbox = runner.invoke(cli, ["inbox", "-s", str(conf)])
    inbox_json = runner.invoke(cli, ["inbox", "-s", str(conf), "--json"])
    with Store.open(root / "engage.sqlite3") as store:
        rows = store.conn.execute("SELECT * FROM comment").fetchall()
        stored = [dict(r) for r in rows]
    yield {
        "root": root,
        "syncs": syncs,
        "requests": requests,
        "page": page,
        "inbox": inbox,
        "inbox_json": inbox_json,
        "rows": stored,
    }


def test_the_sync_survives_the_corpus(synced: dict[str, Any]) -> None:
    for result in synced["syncs"]:
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(
            result.exception
        )
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["networks"]["webmention"]["errors"] == 0
        assert report["networks"]["feed"]["errors"] == 0
        assert not CONTROL_RE.search(result.stdout)
    assert len(synced["rows"]) > 1200  # the corpus arrived, malformed entries left out
    assert any(s.path.startswith("/bomb.png") for s in synced["requests"])  # avatars tried
    assert not list((synced["root"] / "engage-avatars").glob("*.png"))  # and refused


def test_nothing_stored_is_out_of_bounds(synced: dict[str, Any]) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for row in synced["rows"]:
        assert row["is_own"] == 0, row["id"]  # no stranger is the author
        for key in ("url", "author_url", "avatar_url"):
            assert not row[key] or web_url(row[key]) == row[key], (key, row[key])
        assert "1990-01-01" <= row["created_at"] <= now, row["created_at"]
        assert len(row["html"]) < 70_000 and len(row["author_name"]) <= 200
        assert not CONTROL_RE.search(row["author_name"] + row["author_handle"] + row["html"])
        assert 0 <= row["likes"] <= 10**9


def test_the_built_page_is_inert_bounded_and_flattened(synced: dict[str, Any]) -> None:
    page = BeautifulSoup(synced["page"], "html.parser")
    section = page.select_one(".engage-conversation")
    assert section is not None
    assert section.select("script, style, iframe, object, embed, svg, math, form") == []
    for tag in section.find_all(True):
        assert not any(name.startswith("on") for name in tag.attrs), tag.name
    for link in section.select("a[href]"):
        assert link["href"].startswith(("https://", "http://", "mailto:", "#")), link["href"]
    assert section.select(".is-author") == []
    depth = max(len(c.find_parents(class_="h-cite")) for c in section.select(".h-cite"))
    assert depth <= conversation.MAX_DEPTH  # the flattened rest sits in the last level
    assert section.select(".engage-flattened") and section.select(".engage-replying-to")
    assert len(section.select(".h-cite")) <= conversation.MAX_SHOWN
    more = section.select_one(".engage-more")
    assert more is not None and "more comments are not shown" in more.get_text()
    assert len(synced["page"]) < conversation.MAX_MARKUP + 2_000_000


def test_inbox_prints_no_control_character(synced: dict[str, Any]) -> None:
    for result in (synced["inbox"], synced["inbox_json"]):
        assert result.exit_code == 0, result.output
        assert not CONTROL_RE.search(result.output), repr(CONTROL_RE.search(result.output))
    waiting = json.loads(synced["inbox_json"].stdout)
    assert len(waiting) > 1000
    assert any("[/x]" in w["author"] for w in waiting)  # shown as it was written, inert


@pytest.mark.browser
@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
def test_the_corpus_page_runs_no_script_in_chromium(synced: dict[str, Any], tmp_path: Path) -> None:
    from test_browser import PROBE, chromium

    page = tmp_path / "hello.html"
    page.write_text(synced["page"].replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = BeautifulSoup(chromium(page.as_uri(), tmp_path, "--dump-dom"), "html.parser")
    root = dom.html
    assert root is not None and root.get("data-probe") == "ran"
    assert not [a for a in root.attrs if a.startswith("data-pwned")]
    assert dom.title is not None and "pwned" not in dom.title.text
