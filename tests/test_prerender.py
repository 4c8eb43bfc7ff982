"""Conversations rendered by the commands and reused by the build (backfeed/prerender.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sitebuilder import TAKES, comment, store_thread, write_post, write_settings

from pelican.plugins.engage import site
from pelican.plugins.engage.backfeed import conversation, prerender
from pelican.plugins.engage.settings import EngageSettings
from pelican.plugins.engage.store import Store

SITEURL = "https://blog.example.net"
POSTS = ("first", "second", "third")


def first_thread(db: Path, *more: Any, bob_likes: int = 2, carol: str = "<p>Agreed</p>") -> None:
    """The first post's conversation on Mastodon (a complete read of it), and ``more``."""
    replies = [
        comment("1", "root", "Bob Marsh", "<p>Nice <em>one</em></p>", 1, likes=bob_likes),
        comment("2", "1", "Carol Finch", carol, 2),
        *more,
    ]
    store_thread(db, "content/first.md", "mastodon", replies, likes=5)


@pytest.fixture
def blog(tmp_path: Path) -> Path:
    """Three posts; the first two have conversations (one nested), the third none."""
    content = tmp_path / "content"
    write_settings(tmp_path, SITEURL=SITEURL, ENGAGE_SHOW_GATE=False)
    for n, name in enumerate(POSTS):
        write_post(content, name, f"## My take\n\n{TAKES[n]}", Date=f"2026-11-0{n + 1} 10:00")
    db = tmp_path / "engage.sqlite3"
    first_thread(db)
    store_thread(
        db, "content/second.md", "bluesky", [comment("3", "root", "Dan Oak", "<p>Hm</p>", 3)]
    )
    return tmp_path


def build(blog: Path, **override: Any) -> dict[str, str]:
    settings = site.load_settings(blog / "pelicanconf.py", override)
    site.build_site(settings)
    return {name: (blog / "output" / f"{name}.html").read_text("utf-8") for name in POSTS}


def save(blog: Path, **override: Any) -> int:
    """What `engage sync` and `publish` do before a build."""
    settings = site.load_settings(blog / "pelicanconf.py", override)
    record = site.read_site(settings)
    with Store.open(blog / "engage.sqlite3") as store:
        return site.save_conversations(store, settings, record.posts)


@pytest.fixture
def nodes_built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the comment nodes built from stored rows (none when markup is reused)."""
    built: list[str] = []
    real = conversation._Nodes.node

    def node(self: Any, row: tuple[Any, ...]) -> conversation.CommentNode:
        found = real(self, row)
        built.append(found.id)
        return found

    monkeypatch.setattr(conversation._Nodes, "node", node)
    return built


def test_a_build_after_a_save_shows_the_same_pages_without_building_nodes(
    blog: Path, nodes_built: list[str]
) -> None:
    cold = build(blog)
    assert "Nice <em>one</em>" in cold["first"] and "Agreed" in cold["first"]
    assert len(nodes_built) == 3
    assert save(blog) == 2  # the two articles with a conversation
    nodes_built.clear()
    warm = build(blog)
    assert nodes_built == []
    assert warm == cold
    assert save(blog) == 0  # nothing changed: nothing rendered again


def hide_the_reply(db: Path) -> None:
    """What `engage hide` does."""
    with Store.open(db) as store:
        assert store.comments.moderate(["mastodon:2"]) == 1


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda db: first_thread(db, comment("4", "2", "Eve Stone", "<p>A new reply</p>", 4)),
            id="new-reply",
        ),
        pytest.param(
            lambda db: first_thread(db, bob_likes=9, carol="<p>Agreed, edited</p>"),
            id="likes-and-edit",
        ),
        pytest.param(hide_the_reply, id="reply-hidden"),
    ],
)
def test_a_changed_conversation_is_never_shown_from_stale_markup(
    blog: Path, nodes_built: list[str], change: Any
) -> None:
    before = build(blog)
    save(blog)
    change(blog / "engage.sqlite3")
    (blog / "output").rename(blog / "output-old")
    fresh = build(blog, ENGAGE_DB=str(blog / "engage.sqlite3"))
    nodes_built.clear()
    with Store.open(blog / "engage.sqlite3") as store:  # a cold build of the same state
        store.conn.execute("DELETE FROM rendered_thread")
    (blog / "output").rename(blog / "output-reused")
    cold = build(blog)
    assert fresh == cold
    assert fresh["first"] != before["first"] and fresh["second"] == before["second"]
    assert set(nodes_built) <= {"mastodon:1", "mastodon:2", "mastodon:4", "bluesky:3"}


def test_only_the_changed_article_is_loaded_again(blog: Path, nodes_built: list[str]) -> None:
    build(blog)
    save(blog)
    store_thread(
        blog / "engage.sqlite3",
        "content/second.md",
        "bluesky",
        [
            comment("3", "root", "Dan Oak", "<p>Hm</p>", 3),
            comment("5", "3", "Eve", "<p>Yes</p>", 5),
        ],
    )
    nodes_built.clear()
    pages = build(blog)
    assert sorted(nodes_built) == ["bluesky:3", "bluesky:5"]
    assert "Yes" in pages["second"] and "Agreed" in pages["first"]
    assert save(blog) == 1


def test_settings_that_shape_the_page_are_part_of_the_token(
    blog: Path, nodes_built: list[str]
) -> None:
    build(blog)
    save(blog)
    nodes_built.clear()
    berlin = build(blog, TIMEZONE="Europe/Berlin")
    assert nodes_built  # another time zone: the saved markup is not used
    assert "10:01" in berlin["first"]  # 09:01 UTC in Berlin
    nodes_built.clear()
    build(blog, SITEURL="https://elsewhere.example")  # other URLs: rendered again
    assert nodes_built


def test_a_theme_walking_the_comments_gets_every_node(blog: Path) -> None:
    build(blog)
    save(blog)
    settings = EngageSettings.from_pelican(site.load_settings(blog / "pelicanconf.py"))
    with Store.open_readonly(blog / "engage.sqlite3") as store:  # type: ignore[union-attr]
        reused = prerender.conversations_for_build(store, settings)
        loaded = conversation.load_conversations(store, settings)
    thread = reused["content/first.md"].comments
    assert isinstance(thread, prerender.SavedThread)
    assert bool(thread) and thread.total() == 2
    assert reused["content/first.md"].counts == loaded["content/first.md"].counts
    assert [c.id for c in thread] == ["mastodon:1"]
    assert [c.id for c in thread[0].children] == ["mastodon:2"]
    assert len(thread) == 1 and thread.total() == 2
    # Once loaded, it renders from the nodes: the same markup for other URLs too.
    other = thread.render("https://x.example/a.html", "https://x.example")
    assert other == loaded["content/first.md"].comments.render(
        "https://x.example/a.html", "https://x.example"
    )


def test_saved_threads_of_gone_articles_are_dropped(blog: Path) -> None:
    build(blog)
    save(blog)
    (blog / "content" / "second.md").unlink()
    save(blog)
    with Store.open_readonly(blog / "engage.sqlite3") as store:  # type: ignore[union-attr]
        assert set(store.rendered.stamps()) == {"content/first.md"}


def test_every_change_to_a_comment_moves_its_article_version_on(tmp_path: Path) -> None:
    db = tmp_path / "engage.sqlite3"
    store_thread(db, "a.md", "mastodon", [comment("1", "root", "Bob", "<p>x</p>", 1)])
    with Store.open(db) as store:
        first = store.rendered.versions()["a.md"]
        store.conn.execute("UPDATE comment SET likes = likes + 1")
        second = store.rendered.versions()["a.md"]
        store.conn.execute("UPDATE comment SET article = 'b.md'")
        moved = store.rendered.versions()
        store.conn.execute("DELETE FROM comment")
        gone = store.rendered.versions()
    assert first < second < moved["a.md"]  # the article it left changed too
    assert moved["b.md"] < gone["b.md"]
