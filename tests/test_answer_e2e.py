"""Answer everyone: the inbox, replies landing in the right thread, stats and the dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from syndication_helpers import configure, engage, own_posts, standins, top_level

from pelican.plugins.engage.answering import answers
from pelican.plugins.engage.sandbox.base import StandIn
from pelican.plugins.engage.store import Store

NETWORKS = ("mastodon", "bluesky", "x", "facebook")
CONF = "publishconf.py"


def converse(running: dict[str, StandIn]) -> dict[str, tuple[str, str]]:
    """Bob answers each network's first post and Carol answers Bob: (bob id, carol id)."""
    made = {}
    for name, standin in running.items():
        post = next(p for p in top_level(standin) if "packaging-a-one-file-script" in p.text)
        bob = standin.add_reply(post.id, "bob", f"Which build backend did you pick? ({name})")
        carol = standin.add_reply(bob.id, "carol", f"Same question, and why not a zipapp? ({name})")
        made[name] = (bob.id, carol.id)
    return made


@pytest.fixture
def conversation(demo_site: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with standins(NETWORKS) as running:
        configure(demo_site, running, monkeypatch)
        assert engage("publish")[0] == 0
        made = converse(running)
        code, out, err = engage("sync", "-s", CONF, "--all")
        assert code == 0, out + err
        yield running, made


def inbox() -> list[dict[str, object]]:
    code, out, _ = engage("inbox", "--json")
    assert code == 0
    return json.loads(out)


def test_inbox_lists_every_waiting_comment_oldest_first(conversation) -> None:  # type: ignore[no-untyped-def]
    _running, made = conversation
    waiting = inbox()
    assert len(waiting) == 2 * len(NETWORKS)
    assert [w["created_at"] for w in waiting] == sorted(w["created_at"] for w in waiting)
    assert {w["network"] for w in waiting} == set(NETWORKS)
    first = waiting[0]
    assert set(first) == {
        "id",
        "ref",
        "network",
        "article",
        "author",
        "text",
        "url",
        "created_at",
        "age_seconds",
    }
    assert first["article"] == "content/packaging-a-one-file-script.md"
    assert isinstance(first["age_seconds"], int) and first["age_seconds"] >= 0
    ids = {w["id"] for w in waiting}
    for name, (bob, carol) in made.items():
        assert f"{name}:{bob}" in ids and f"{name}:{carol}" in ids


def test_reply_lands_in_the_right_thread_on_every_network(conversation) -> None:  # type: ignore[no-untyped-def]
    running, made = conversation
    for name, (bob, _carol) in made.items():
        code, out, err = engage(
            "reply", "-s", CONF, f"{name}:{bob}", f"Hatchling, for now. ({name})"
        )
        assert code == 0, out + err
        assert "Answered on" in out
        standin = running[name]
        answer = next(
            p for p in own_posts(standin) if p.text.endswith(f"Hatchling, for now. ({name})")
        )
        assert answer.parent_id == bob, f"{name}: the answer is not under Bob's comment"
    waiting = inbox()
    assert {w["id"] for w in waiting} == {f"{n}:{c}" for n, (_, c) in made.items()}
    # the same answer again is not posted twice
    name, (bob, _) = next(iter(made.items()))
    before = len(own_posts(running[name]))
    code, out, _ = engage("reply", "-s", CONF, f"{name}:{bob}", f"Hatchling, for now. ({name})")
    assert code == 0 and "already posted" in out
    assert len(own_posts(running[name])) == before
    # a later sync sees the answer on the network and keeps one copy of it
    assert engage("sync", "-s", CONF, "--all")[0] == 0
    with Store.open(Path("engage.sqlite3")) as store:
        own = store.conn.execute("SELECT count(*) FROM comment WHERE is_own = 1").fetchone()[0]
    assert own == len(NETWORKS)


def test_stats_and_dashboard_agree(conversation) -> None:  # type: ignore[no-untyped-def]
    _running, made = conversation
    for name, (bob, _) in made.items():
        assert engage("reply", "-s", CONF, f"{name}:{bob}", "Thanks!")[0] == 0
    code, out, _ = engage("stats", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["overall"]["comments"] == 8 and result["overall"]["answered"] == 4
    assert result["overall"]["response_rate"] == 0.5
    for name in NETWORKS:
        assert result["networks"][name]["comments"] == 2
        assert result["networks"][name]["answered"] == 1
        assert result["networks"][name]["median_seconds"] is not None
    inbox()  # writes the dashboard
    page = Path("engage-dashboard.html").read_text()
    embedded = json.loads(re.search(r'id="engage-stats">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    assert embedded["networks"] == result["networks"] and embedded["overall"] == result["overall"]
    assert page.count("engage reply ") == 4  # the four still waiting, each with its command
    assert '<tr data-network="overall">' in page and ">50%<" in page


def test_editor_opens_without_text(conversation, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    running, made = conversation
    seen = {}

    def fake_edit(text: str, extension: str = ".txt") -> str:
        seen["template"] = text
        return "Written in my editor.\n\n" + text

    monkeypatch.setattr("click.edit", fake_edit)
    bob = made["mastodon"][0]
    code, out, _ = engage("reply", "-s", CONF, f"mastodon:{bob}")
    assert code == 0, out
    assert "Which build backend" in seen["template"]
    answer = own_posts(running["mastodon"])[-1]
    assert answer.text.endswith("Written in my editor.") and answer.parent_id == bob


def test_unknown_comment_and_networks_that_cannot_take_answers(
    tmp_path: Path, demo_site: Path
) -> None:
    code, _, err = engage("reply", "-s", "pelicanconf.py", "mastodon:404", "hi")
    assert code == 2 and "no comment 'mastodon:404'" in err
    with Store.open(demo_site / "engage.sqlite3") as store, store.transaction() as conn:
        conn.execute(
            "INSERT INTO comment (id, network, remote_id, article, author_name, author_handle,"
            " author_url, html, url, created_at, first_seen, last_seen) VALUES"
            " ('webmention:7', 'webmention', '7', 'content/x.md', 'Zoe', 'zoe', '',"
            " '<p>Nice</p>', 'https://zoe.example/reply', '2026-11-01T00:00:00+00:00', '', '')"
        )
    code, _, err = engage("reply", "-s", "pelicanconf.py", "webmention:7", "thanks")
    assert code == 2
    assert "reply on your own site with a post linking to https://zoe.example/reply" in " ".join(
        err.split()
    )


def test_answer_recorded_before_sending_is_recovered(
    conversation, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """A crash between sending and recording: the rerun finds the key and posts once."""
    running, made = conversation
    bob = made["mastodon"][0]
    real_record = answers._record

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(answers, "_record", crash)
    with pytest.raises(RuntimeError, match="died"):
        engage("reply", "-s", CONF, f"mastodon:{bob}", "Once only.")
    monkeypatch.setattr(answers, "_record", real_record)
    assert engage("reply", "-s", CONF, f"mastodon:{bob}", "Once only.")[0] == 0
    texts = [p.text for p in own_posts(running["mastodon"]) if p.text.endswith("Once only.")]
    assert len(texts) == 1  # Mastodon's Idempotency-Key made the retry return the same status
