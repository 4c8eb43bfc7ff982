"""Faults, bad input and schedules: work stays queued, errors are one sentence."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sitebuilder import TAKES, write_post, write_settings
from syndication_helpers import configure, engage, own_posts, standins

from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication.ledger import Ledger


def entries(site: Path) -> list[tuple[str, str, int, str, str | None]]:
    conn = sqlite3.connect(site / "engage.sqlite3")
    return conn.execute(
        "SELECT article, network, seq, state, last_error FROM entry ORDER BY article, network, seq"
    ).fetchall()


def time_passes(site: Path) -> None:
    """Back-off periods and due times run out."""
    conn = sqlite3.connect(site / "engage.sqlite3")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    conn.execute("UPDATE entry SET retry_at = NULL")
    conn.execute("UPDATE entry SET due_at = ? WHERE due_at > ?", (past, past))
    conn.commit()


def small_site(tmp_path: Path, posts: dict[str, dict[str, str]]) -> Path:
    write_settings(tmp_path, SITEURL="https://blog.example.net")
    for take, (name, meta) in zip(TAKES, posts.items(), strict=False):
        write_post(tmp_path / "content", name, f"Some news.\n\n## My take\n\n{take}", **meta)
    (tmp_path / "publishconf.py").write_text("from pelicanconf import *\n")
    return tmp_path


def test_faulty_networks_keep_their_work_and_the_others_proceed(
    demo_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with standins() as running:
        configure(demo_site, running, monkeypatch)
        running["mastodon"].fail_next(50, "429", retry_after=120)
        running["x"].fail_next(50, "503")
        running["bluesky"].timeout_seconds = 2.5  # longer than the adapter's 2 s timeout
        running["bluesky"].fail_next(1, "timeout")
        code, out, _ = engage("publish")
        assert code == 3
        assert "still waiting" in out and "rate limited until" in out
        assert len(own_posts(running["facebook"])) == 4  # unaffected
        assert own_posts(running["mastodon"]) == [] and own_posts(running["x"]) == []
        states = {(a.split("/")[-1], n, q): (s, e) for a, n, q, s, e in entries(demo_site)}
        mastodon = [v for k, v in states.items() if k[1] == "mastodon"]
        assert {s for s, _ in mastodon} == {"queued"}
        assert any(e and "rate" in e.lower() for _, e in mastodon)
        x_states = [s for k, (s, _) in states.items() if k[1] == "x"]
        assert x_states.count("pending") == 1 and x_states.count("queued") == 3
        # the faults clear; after the back-off everything goes out exactly once
        for standin in running.values():
            standin.clear_faults()
        time_passes(demo_site)
        code, out, _ = engage("syndicate")
        assert code == 0, out
        assert len(own_posts(running["mastodon"])) == 8
        assert len(own_posts(running["bluesky"])) == 8
        assert len(own_posts(running["x"])) == 4  # the 503 attempt was not posted twice
        assert {s for _, _, _, s, _ in entries(demo_site)} == {"posted"}


def test_a_timeout_after_the_server_posted_is_recovered_not_repeated(
    demo_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with standins(["x", "facebook"]) as running:
        configure(demo_site, running, monkeypatch)
        # Lose the first answer of each: the write lands, the client times out.
        x, fb = running["x"], running["facebook"]
        original_x, original_fb = x.dispatch, fb.dispatch
        lost: set[str] = set()

        def lose_first_post(original):  # type: ignore[no-untyped-def]
            def dispatch(request):  # type: ignore[no-untyped-def]
                response = original(request)
                key = type(original.__self__).__name__
                if request.method == "POST" and key not in lost:
                    lost.add(key)
                    time.sleep(2.5)  # past the adapter's timeout: the answer never arrives
                return response

            return dispatch

        x.dispatch = lose_first_post(original_x)  # type: ignore[method-assign]
        fb.dispatch = lose_first_post(original_fb)  # type: ignore[method-assign]
        code, _, _ = engage("publish")
        assert code == 3
        x.dispatch, fb.dispatch = original_x, original_fb  # type: ignore[method-assign]
        assert len(own_posts(x)) == len(own_posts(fb)) == 1  # written, not recorded
        x.permissive = fb.permissive = True  # a resend would land: only recovery prevents it
        time_passes(demo_site)
        code, out, _ = engage("syndicate")
        assert code == 0, out
        with Store.open(demo_site / "engage.sqlite3") as store:
            ledger = {e.remote_id: e.state for e in Ledger(store).entries()}
        for name, standin in running.items():
            texts = [p.text for p in own_posts(standin)]
            assert len(texts) == 4 == len(set(texts)), texts
            assert len(standin.calls("POST", r"/(tweets|feed|comments)$")) == 4, name  # no resend
            assert all(ledger.get(p.id) == "posted" for p in own_posts(standin)), name


@pytest.mark.parametrize(
    ("meta", "sentence"),
    [
        ({"Schedule": "next tuesday"}, "metadata 'Schedule' is not a date and time"),
        ({"Followup": "later: more"}, "metadata 'Followup' line 'later: more' does not start"),
        (
            {"Syndicate": "mastodon, myspace"},
            "metadata 'Syndicate' names unknown network 'myspace'",
        ),
        ({"Snippet_mastodon": "x" * 600}, "metadata 'Snippet_mastodon' for mastodon is 6"),
    ],
    ids=["schedule", "followup", "network", "snippet"],
)
def test_bad_input_is_one_sentence_and_posts_nothing_of_that_post(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, meta: dict[str, str], sentence: str
) -> None:
    site = small_site(
        tmp_path,
        {"bad": {**meta, "Date": "2026-11-28 10:00"}, "good": {"Date": "2026-11-28 11:00"}},
    )
    with standins(["mastodon", "bluesky"]) as running:
        configure(site, running, monkeypatch)
        code, out, err = engage("publish", "-s", str(site / "publishconf.py"))
        assert code == 0
        assert f"content/bad.md: {sentence}" in " ".join((out + err).split()), out + err
        for standin in running.values():
            texts = [p.text for p in own_posts(standin)]
            assert len(texts) == 1 and "good.html" in texts[0], out + err


def test_future_posts_wait_and_mastodon_schedules_natively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    site = small_site(
        tmp_path,
        {"later": {"Schedule": tomorrow, "Followup": "+2h And one more thing."}},
    )
    with standins(["mastodon", "bluesky"]) as running:
        configure(site, running, monkeypatch)
        code, out, _ = engage("publish", "-s", str(site / "publishconf.py"))
        assert code == 0, out
        mastodon = running["mastodon"]
        assert len(mastodon.scheduled) == 1  # handed to the server's own scheduler
        assert own_posts(mastodon) == [] and own_posts(running["bluesky"]) == []
        states = {(n, q): s for _, n, q, s, _ in entries(site)}
        assert states == {
            ("bluesky", 0): "queued",
            ("bluesky", 1): "queued",
            ("mastodon", 0): "scheduled",
            ("mastodon", 1): "queued",
        }
        assert engage("syndicate", "-s", str(site / "publishconf.py"))[0] == 0  # nothing due yet
        # the day comes: the server publishes its scheduled status, cron runs syndicate
        mastodon.publish_scheduled(next(iter(mastodon.scheduled)))  # type: ignore[attr-defined]
        time_passes(site)
        code, out, _ = engage("syndicate", "-s", str(site / "publishconf.py"))
        assert code == 0, out
        first = next(p for p in own_posts(mastodon) if p.parent_id is None)
        assert [c.text for c in mastodon.descendants(first.id)] == ["And one more thing."]
        assert len(own_posts(running["bluesky"])) == 2
        with Store.open(site / "engage.sqlite3") as store:
            posted = Ledger(store).get("content/later.md", "mastodon", 0)
        assert posted is not None and posted.state == "posted" and posted.remote_id == first.id


def test_syndicate_without_networks_is_a_no_op(tmp_path: Path) -> None:
    site = small_site(tmp_path, {"a": {}})
    code, out, _ = engage("syndicate", "-s", str(site / "publishconf.py"))
    assert code == 0 and "No network is configured" in out


def test_publishing_needs_an_absolute_siteurl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = small_site(tmp_path, {"a": {}})
    (site / "publishconf.py").write_text("from pelicanconf import *\nSITEURL = ''\n")
    with standins(["mastodon"]) as running:
        configure(site, running, monkeypatch)
        code, _, err = engage("publish", "-s", str(site / "publishconf.py"))
        assert code == 2 and "SITEURL must be an absolute http(s) URL" in err
        assert own_posts(running["mastodon"]) == []
