"""Short refs, context, likes and "done" from the command line (issue 14).

Every comment gets a short, stable number; `engage show`, `reply`, `like`,
`done` and `hide` take it (or the full id). Likes go to the real SDKs'
endpoints on the stand-ins and are recorded like answers, so a rerun never
likes twice.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from desk_support import CONF, NETWORKS, POST_SLUG, conversation, inbox, ref_of
from syndication_helpers import engage, own_posts, top_level

from pelican.plugins.engage.answering import acknowledge, context
from pelican.plugins.engage.store import Store, migrations
from pelican.plugins.engage.store.acknowledgements import Acknowledgements


@pytest.fixture
def talk(demo_site: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with conversation(demo_site, monkeypatch) as made:
        yield made


def test_every_comment_has_a_short_stable_ref(talk) -> None:  # type: ignore[no-untyped-def]
    running, _made = talk
    waiting = inbox()
    refs = [w["ref"] for w in waiting]
    assert all(isinstance(r, int) for r in refs) and len(set(refs)) == len(refs)
    assert sorted(refs) == list(range(1, 2 * len(NETWORKS) + 1))
    code, out, _ = engage("inbox")
    assert code == 0
    dashboard = Path("engage-dashboard.html").read_text(encoding="utf-8")
    for w in waiting:
        assert f"{w['ref']}  " in out and str(w["author"]) in out
        assert f"<code>engage reply {w['ref']}</code>" in dashboard
    # A later sync keeps every ref; a new comment gets the next number, shown by `sync`.
    mastodon = running["mastodon"]
    post = next(p for p in top_level(mastodon) if POST_SLUG in p.text)
    dave = mastodon.add_reply(post.id, "dave", "And what about PEP 723?")
    code, out, _ = engage("sync", "-s", CONF, "--all")
    assert code == 0
    assert {w["id"]: w["ref"] for w in inbox() if w["id"] != f"mastodon:{dave.id}"} == {
        w["id"]: w["ref"] for w in waiting
    }
    new = ref_of("mastodon", dave.id)
    assert new == max(refs) + 1
    assert f"{new}  Dave Okafor on Mastodon: And what about PEP 723?" in out
    assert f"engage show {new}" in out
    code, out, _ = engage("sync", "-s", CONF, "--all", "--json")
    assert json.loads(out)["arrived"] == []


def test_refs_are_never_reused(tmp_path: Path) -> None:
    db = tmp_path / "engage.sqlite3"
    with Store.open(db) as store, store.transaction() as conn:
        for n in (1, 2):
            conn.execute(
                "INSERT INTO comment (id, network, remote_id, article, author_name,"
                " author_handle, author_url, html, url, created_at, first_seen, last_seen)"
                " VALUES (?, 'mastodon', ?, 'a.md', 'Bob', '', '', '<p>x</p>', '',"
                " '2026-01-01T00:00:00+00:00', '', '')",
                (f"mastodon:{n}", str(n)),
            )
        conn.execute("DELETE FROM comment WHERE id = 'mastodon:2'")
        conn.execute(
            "INSERT INTO comment (id, network, remote_id, article, author_name, author_handle,"
            " author_url, html, url, created_at, first_seen, last_seen) VALUES ('mastodon:3',"
            " 'mastodon', '3', 'a.md', 'Bob', '', '', '<p>y</p>', '', '2026-01-02', '', '')"
        )
    with Store.open(db) as store:
        assert store.comments.resolve("3") == "mastodon:3"
        assert store.comments.resolve("#1") == "mastodon:1"
        assert store.comments.resolve("2") is None  # its number left with it
        assert store.comments.resolve("mastodon:1") == "mastodon:1"


def test_an_older_database_gets_refs_in_time_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = next(i for i, sql in enumerate(migrations.MIGRATIONS) if "comment_ref" in sql)
    db = tmp_path / "engage.sqlite3"
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", step)
    with Store.open(db) as store, store.transaction() as conn:
        for cid, when in (("x:late", "2026-03-01"), ("x:early", "2026-01-01")):
            conn.execute(
                "INSERT INTO comment (id, network, remote_id, article, author_name,"
                " author_handle, author_url, html, url, created_at, first_seen, last_seen)"
                " VALUES (?, 'x', ?, 'a.md', 'Bob', '', '', '<p>x</p>', '', ?, '', '')",
                (cid, cid, when),
            )
    monkeypatch.undo()
    with Store.open(db) as store:
        assert store.comments.resolve("1") == "x:early"
        assert store.comments.resolve("2") == "x:late"


def test_show_prints_the_thread_wrapped_to_a_narrow_terminal(
    talk, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _running, made = talk
    bob, carol = made["bluesky"]
    assert engage("reply", "-s", CONF, str(ref_of("bluesky", bob)), "Hatchling, for now.")[0] == 0
    monkeypatch.setenv("COLUMNS", "44")
    code, out, _ = engage("show", str(ref_of("bluesky", carol)))
    assert code == 0, out
    flat = " ".join(out.replace("│", " ").split())  # quoted text is wrapped behind a bar
    assert "Carol Nguyen" in flat and "on Bluesky" in flat
    assert "Your post:" in flat and "Most useful Python starts life" in flat  # the snippet
    assert "Bob Marsh (@bob.bsky.social) (#" in flat  # the comment it answers, with its ref
    assert "Which build backend did you pick? (bluesky)" in flat
    assert "Same question, and why not a zipapp? (bluesky)" in flat  # the comment itself
    assert "Your earlier answers in this conversation: · just now: Hatchling, for now." in flat
    too_wide = [ln for ln in out.splitlines() if len(ln) > 44 and "://" not in ln]
    assert too_wide == []  # only a URL, kept whole, may be longer
    code, _, err = engage("show", "999")
    assert code == 2 and "no comment '999'" in err


def test_reply_takes_a_ref_and_the_editor_shows_the_thread(
    talk, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    running, made = talk
    carol = made["mastodon"][1]
    seen = {}

    def fake_edit(text: str, extension: str = ".txt") -> str:
        seen["template"] = text
        return "#packaging is the tag.\nA zipapp cannot carry C extensions.\n" + text

    monkeypatch.setattr(click, "edit", fake_edit)
    code, out, err = engage("reply", "-s", CONF, f"#{ref_of('mastodon', carol)}")
    assert code == 0, out + err
    template = seen["template"]
    assert "Which build backend did you pick? (mastodon)" in template  # what Carol answers
    assert "Same question, and why not a zipapp? (mastodon)" in template
    assert all(ln.startswith("#") for ln in template.splitlines() if ln.strip())
    answer = own_posts(running["mastodon"])[-1]
    assert answer.parent_id == carol
    assert answer.text.endswith("#packaging is the tag.\nA zipapp cannot carry C extensions.")
    assert context.from_editor("# only a comment\n#\n") == ""


def test_like_once_on_every_network(talk) -> None:  # type: ignore[no-untyped-def]
    running, made = talk
    for name in NETWORKS:
        standin, bob = running[name], made[name][0]
        ref = str(ref_of(name, bob))
        code, out, err = engage("like", "-s", CONF, ref)
        assert code == 0, out + err
        assert "liked on" in out and "still waits" in out
        code, out, _ = engage("like", "-s", CONF, ref)
        assert code == 0 and "was already liked" in out
        assert standin.items[bob].liked_by == {"author"}, name
    assert len(running["mastodon"].calls("POST", r"/favourite$")) == 1
    assert len(running["x"].calls("POST", r"/likes$")) == 1
    assert len(running["facebook"].calls("POST", r"/likes$")) == 1
    assert len(running["bluesky"].likes_of(made["bluesky"][0])) == 1  # one like record
    # Liked, not answered: every one of them still waits.
    assert {f"{n}:{made[n][0]}" for n in NETWORKS} <= {w["id"] for w in inbox()}


def test_a_like_interrupted_before_it_was_recorded_is_not_sent_twice(
    talk, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    running, made = talk
    bob = made["bluesky"][0]
    ref = str(ref_of("bluesky", bob))
    real = Acknowledgements.mark_posted

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(Acknowledgements, "mark_posted", crash)
    with pytest.raises(RuntimeError, match="died"):
        engage("like", "-s", CONF, ref)
    monkeypatch.setattr(Acknowledgements, "mark_posted", real)
    with Store.open(Path("engage.sqlite3")) as store:
        assert store.acknowledgements.get(f"bluesky:{bob}", "like")["state"] == "pending"  # type: ignore[index]
    code, out, err = engage("like", "-s", CONF, ref)
    assert code == 0, out + err
    assert len(running["bluesky"].likes_of(bob)) == 1  # the rerun met its own record key


def test_done_and_like_done_leave_the_inbox_and_stats_count_them(talk) -> None:  # type: ignore[no-untyped-def]
    _running, made = talk
    refs = {n: (ref_of(n, made[n][0]), ref_of(n, made[n][1])) for n in NETWORKS}
    assert engage("reply", "-s", CONF, str(refs["mastodon"][0]), "Thanks!")[0] == 0
    assert engage("reply", "-s", CONF, str(refs["bluesky"][0]), "Thanks!")[0] == 0
    code, out, _ = engage("like", "-s", CONF, str(refs["x"][0]), "--done")
    assert code == 0 and "needs no answer" in out
    assert engage("like", "-s", CONF, str(refs["facebook"][0]))[0] == 0
    code, out, _ = engage("done", str(refs["mastodon"][1]), f"#{refs['bluesky'][1]}")
    assert code == 0 and out.count("needs no answer") == 2
    code, out, _ = engage("done", str(refs["mastodon"][1]))
    assert code == 0 and "already marked done" in out
    waiting = {w["ref"] for w in inbox()}
    assert waiting == {refs["x"][1], refs["facebook"][0], refs["facebook"][1]}
    code, out, _ = engage("stats", "--json")
    overall = json.loads(out)["overall"]
    # 8 comments: 2 answered, 3 marked done (needing no answer), 2 liked (one also done).
    assert overall["comments"] == 8 and overall["answered"] == 2
    assert overall["done"] == 3 and overall["liked"] == 2
    assert overall["acknowledged"] == 6 and overall["acknowledged_rate"] == 0.75
    assert overall["answered_rate"] == overall["response_rate"] == 0.4  # 2 of the 5 needing one
    code, out, _ = engage("stats")
    assert code == 0 and "Acknowledged" in out and "75%" in out and "40%" in out


def test_hide_takes_a_ref_and_networks_without_likes_say_so(talk) -> None:  # type: ignore[no-untyped-def]
    _running, made = talk
    ref = ref_of("x", made["x"][1])
    code, out, _ = engage("hide", str(ref))
    assert code == 0 and f"x:{made['x'][1]}" in out
    assert ref not in {w["ref"] for w in inbox()}
    with Store.open(Path("engage.sqlite3")) as store, store.transaction() as conn:
        conn.execute(
            "INSERT INTO comment (id, network, remote_id, article, author_name, author_handle,"
            " author_url, html, url, created_at, first_seen, last_seen) VALUES"
            " ('webmention:7', 'webmention', '7', 'content/x.md', 'Zoe', 'zoe', '',"
            " '<p>Nice</p>', 'https://zoe.example/reply', '2026-11-01T00:00:00+00:00', '', '')"
        )
        wm = store.comments.resolve("webmention:7")
    with Store.open(Path("engage.sqlite3")) as store:
        wm_ref = store.comments.with_ref(str(wm))["ref"]  # type: ignore[index]
    code, _, err = engage("like", "-s", CONF, str(wm_ref))
    message = " ".join(err.split())
    assert code == 2 and "A webmention cannot be liked from here" in message
    assert message.count(".") == 1 + message.count("zoe.example")  # one sentence
    assert acknowledge.like_refusal("mastodon", "") is None
