"""A post is cross-posted once in its life: moving, renaming, re-slugging or deleting its
file never posts it again. Against mastodon-mock, an independent Mastodon server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from mastodon import Mastodon
from mastodon_mock.testing.server import MockServer
from sitebuilder import TAKE, write_post, write_settings
from syndication_helpers import engage

from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication.identity import KnownPost, resolve
from pelican.plugins.engage.syndication.ledger import Ledger

BODY = f"News of the day.\n\n## My take\n\n{TAKE}"


@pytest.fixture
def mock() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


@pytest.fixture
def site(tmp_path: Path, mock: MockServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    write_settings(root)
    (root / "publishconf.py").write_text(
        "from pelicanconf import *\n"
        f"ENGAGE_NETWORKS = {{'mastodon': {{'base_url': {mock.base_url!r}, 'timeout': 10}}}}\n"
        f"ENGAGE_STATE_DIR = {str(root / '.state')!r}\n"
        "ENGAGE_FIRST_RUN_MAX_AGE = '3650d'\n",
        encoding="utf-8",
    )
    write_post(root / "content", "hello", BODY, Title="Hello", Date="2026-11-20 09:00")
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", "alice_token")
    return root


def statuses(mock: MockServer) -> list[dict[str, object]]:
    api = Mastodon(access_token="alice_token", api_base_url=mock.base_url)
    me = api.account_verify_credentials()
    return list(api.account_statuses(me["id"]))


def publish() -> str:
    code, out, err = engage("publish", "-s", "publishconf.py")
    assert code == 0, out + err
    return out + err


def test_moving_and_renaming_the_file_never_posts_again(site: Path, mock: MockServer) -> None:
    publish()
    assert len(statuses(mock)) == 1
    (site / "content" / "2026").mkdir()
    (site / "content" / "hello.md").rename(site / "content" / "2026" / "hello.md")
    publish()
    assert len(statuses(mock)) == 1, "a moved file was posted a second time"
    # A new file name with the old slug: the same URL, the same post.
    text = (site / "content" / "2026" / "hello.md").read_text()
    (site / "content" / "2026" / "hello.md").unlink()
    (site / "content" / "2026" / "greetings.md").write_text("Slug: hello\n" + text)
    publish()
    assert len(statuses(mock)) == 1, "a renamed file was posted a second time"


def test_a_changed_slug_warns_and_never_posts_again(site: Path, mock: MockServer) -> None:
    publish()
    path = site / "content" / "hello.md"
    path.write_text("Slug: hello-again\n" + path.read_text())
    output = publish()
    assert len(statuses(mock)) == 1
    assert "link to the old one" in output and "hello.html" in output
    _code, _out, err = engage("check", "-s", "publishconf.py")
    assert "hello-again.html" in err and "redirect" in err


def test_moved_and_reslugged_at_once_is_still_the_same_post(site: Path, mock: MockServer) -> None:
    publish()
    text = (site / "content" / "hello.md").read_text()
    (site / "content" / "hello.md").unlink()
    (site / "content" / "other-name.md").write_text(text)  # new slug and path, same title/date
    publish()
    assert len(statuses(mock)) == 1


def test_a_deleted_post_is_orphaned_kept_and_never_posted_again(
    site: Path, mock: MockServer
) -> None:
    publish()
    (site / "content" / "hello.md").unlink()
    write_post(site / "content", "unrelated", "No take here.", Title="Other", Syndicate="none")
    _code, out, _err = engage("check", "--json", "-s", "publishconf.py")
    assert [o["source_path"] for o in json.loads(out)["orphaned"]] == ["content/hello.md"]
    _code, _out, err = engage("check", "-s", "publishconf.py")
    assert "gone from the site" in err and "content/hello.md" in err
    publish()
    with Store.open(site / "engage.sqlite3") as store:
        kept = Ledger(store).entries()
        missing = [r for r in store.posts.all() if r["missing_since"]]
    assert [r["key"] for r in missing] == ["content/hello.md"]
    assert [(e.article, e.state) for e in kept] == [("content/hello.md", "posted")]
    # The file comes back: still the same post, still posted once.
    write_post(site / "content", "hello", BODY, Title="Hello", Date="2026-11-20 09:00")
    publish()
    assert len(statuses(mock)) == 1


def test_resolution_rules() -> None:
    class Post:
        def __init__(self, path: str, url: str, title: str = "T", date: str = "d") -> None:
            self.source_path, self.url, self.title, self.date = path, url, title, date

    known = [
        KnownPost("a.md", "a.md", "https://b/a.html", "A", "1"),
        KnownPost("b.md", "b.md", "https://b/b.html", "B", "2"),
        KnownPost("c.md", "c.md", "https://b/c.html", "C", "3"),
    ]
    result = resolve(
        [
            Post("a.md", "https://b/a2.html", "A", "1"),  # same path, new URL
            Post("x/b.md", "https://b/b.html", "B", "2"),  # moved, same URL
            Post("new.md", "https://b/new.html", "N", "9"),  # new
        ],
        known,
    )
    assert result.keys == {"a.md": "a.md", "x/b.md": "b.md", "new.md": "new.md"}
    assert result.moved == [("b.md", "x/b.md")]
    assert result.reslugged == [("a.md", "https://b/a.html", "https://b/a2.html")]
    assert [k.key for k in result.orphaned] == ["c.md"]


def test_an_older_database_learns_its_posts_from_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 4 keys every post the ledger or the comments know by its old path and URL."""
    from pelican.plugins.engage.store import migrations

    path = tmp_path / "old.sqlite3"
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:3])
        patch.setattr(migrations, "SCHEMA_VERSION", 3)
        with Store.open(path) as old:
            assert old.schema_version == 3
            old.conn.execute(
                "INSERT INTO entry (article, network, seq, text, link, due_at, idempotency_key,"
                " created_at, state) VALUES ('content/hello.md', 'mastodon', 0, 't',"
                " 'https://blog.example.net/hello.html', '2026-11-20', 'k', '2026-11-20',"
                " 'posted')"
            )
            old.conn.commit()
    with Store.open(path) as store:
        assert [(r["key"], r["url"]) for r in store.posts.all()] == [
            ("content/hello.md", "https://blog.example.net/hello.html")
        ]
