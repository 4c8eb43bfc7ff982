"""`engage publish` against the stand-ins of every network: once and only once."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from syndication_helpers import (
    ELIGIBLE,
    FOLLOWUPS,
    SITEURL,
    configure,
    engage,
    own_posts,
    standins,
    top_level,
)

from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication.ledger import Ledger


def expected_count(network: str) -> int:
    firsts = [slug for slug, nets in ELIGIBLE.items() if network in nets]
    return len(firsts) + sum(FOLLOWUPS.get(slug, 0) for slug in firsts)


def test_demo_blog_goes_out_once_per_network_with_threads(
    demo_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with standins() as running:
        configure(demo_site, running, monkeypatch)
        code, out, err = engage("publish")
        assert code == 0, out + err
        for network, standin in running.items():
            posts = own_posts(standin)
            assert len(posts) == expected_count(network), (network, [p.text[:40] for p in posts])
            links = [p.text for p in top_level(standin)]
            for slug, nets in ELIGIBLE.items():
                url = f"{SITEURL}/{slug}.html"
                matching = [t for t in links if url in t or url in str(standin.items)]
                assert (len(matching) >= 1) == (network in nets), (network, slug)
            # a title alone is never a snippet: every first post leads with commentary
            for item in top_level(standin):
                assert not item.text.startswith(SITEURL)
        # follow-ups are a thread: each answers the one before it
        mastodon = running["mastodon"]
        first = next(p for p in top_level(mastodon) if "back-to-plain-files" in p.text)
        thread = list(mastodon.descendants(first.id))
        assert [t.text[:22] for t in thread] == ["One thing I forgot: th", "Evening update: redire"]
        assert thread[1].parent_id == thread[0].id
        bluesky = running["bluesky"]
        root = next(p for p in top_level(bluesky) if "back-to-plain-files" in p.text)
        assert len(list(bluesky.descendants(root.id))) == 2

        # ineligible posts appear nowhere
        for standin in running.values():
            everything = " ".join(i.text for i in own_posts(standin)) + json.dumps(
                [i.extra for i in own_posts(standin)], default=str
            )
            for held in (
                "trusted-publishing-for-linkrot",
                "css-nesting-everywhere",
                "new-on-call-handbook",
            ):
                assert held not in everything

        # the article page links to its copies, marked up for IndieWeb tools
        page = (demo_site / "output" / "packaging-a-one-file-script.html").read_text()
        assert page.count('rel="syndication"') == 4 and "u-syndication" in page
        assert "Discuss on Mastodon" in page

        # a second publish posts nothing
        before = {n: len(own_posts(s)) for n, s in running.items()}
        writes = {n: len(s.calls("POST")) for n, s in running.items()}
        code, out, _ = engage("publish")
        assert code == 0
        assert {n: len(own_posts(s)) for n, s in running.items()} == before
        assert "Nothing is due." in out
        for name, standin in running.items():
            new_posts = [
                r for r in standin.calls("POST")[writes[name] :] if "session" not in r.path.lower()
            ]
            assert new_posts == [], name


def test_dry_run_changes_nothing(demo_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with standins() as running:
        configure(demo_site, running, monkeypatch)
        code, out, _ = engage("publish", "--dry-run")
        assert code == 0 and "Dry run: nothing was deployed, queued or posted." in out
        assert all(own_posts(s) == [] for s in running.values())
        with Store.open(demo_site / "engage.sqlite3") as store:
            assert Ledger(store).entries() == []
            assert Ledger(store).first_publish("mastodon") is None


def test_plan_json_measures_each_text_as_its_network_counts(
    demo_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with standins() as running:
        configure(demo_site, running, monkeypatch)
        code, out, _ = engage("plan", "--json")
        assert code == 0
        rows = json.loads(out)
        assert {r["state"] for r in rows} == {"new"}
        assert len(rows) == sum(expected_count(n) for n in running)
        for row in rows:
            assert 0 < row["length"] <= row["limit"]
            assert set(row) >= {
                "article",
                "network",
                "seq",
                "due_at",
                "state",
                "text",
                "length",
                "limit",
            }
        limits = {r["network"]: r["limit"] for r in rows}
        assert limits["bluesky"] == 300 and limits["x"] == 280 and limits["mastodon"] == 500
        x_row = next(r for r in rows if r["network"] == "x")
        assert x_row["text"].endswith(x_row["link"])


def test_first_run_guard_and_backfill(demo_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with standins(["mastodon"]) as running:
        configure(demo_site, running, monkeypatch, ENGAGE_FIRST_RUN_MAX_AGE="1d")
        code, _, _ = engage("publish")
        assert code == 0
        assert own_posts(running["mastodon"]) == []  # every demo post is older than a day
        with Store.open(demo_site / "engage.sqlite3") as store:
            states = {e.state for e in Ledger(store).entries()}
        assert states == {"skipped"}
        code, _, _ = engage("publish", "--backfill")
        assert code == 0
        assert len(own_posts(running["mastodon"])) == expected_count("mastodon")


def test_guard_only_applies_at_the_first_publish(
    demo_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with standins(["mastodon"]) as running:
        configure(demo_site, running, monkeypatch, ENGAGE_FIRST_RUN_MAX_AGE="1d")
        engage("publish")
        # a new post written after the first publish goes out even though its date is old
        (demo_site / "content" / "late-addition.md").write_text(
            "Title: A late addition\nDate: 2026-10-01 10:00\n\n## My take\n\n"
            + "I finally wrote down why I keep an offline copy of every post I link to. " * 4
        )
        code, _, _ = engage("publish")
        assert code == 0
        texts = [p.text for p in own_posts(running["mastodon"])]
        assert len(texts) == 1 and "late-addition" in texts[0]


def test_syndicate_is_safe_to_run_repeatedly(
    demo_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with standins(["mastodon", "x"]) as running:
        configure(demo_site, running, monkeypatch)
        engage("publish")
        counts = {n: len(own_posts(s)) for n, s in running.items()}
        for _ in range(3):
            code, out, _ = engage("syndicate")
            assert code == 0 and "Nothing is due." in out
        assert {n: len(own_posts(s)) for n, s in running.items()} == counts


def test_ledger_records_remote_ids_and_urls(
    demo_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with standins(["bluesky"]) as running:
        configure(demo_site, running, monkeypatch)
        engage("publish")
        conn = sqlite3.connect(demo_site / "engage.sqlite3")
        rows = conn.execute("SELECT state, remote_id, remote_url FROM entry").fetchall()
        assert rows and all(r[0] == "posted" and r[1].startswith("at://") and r[2] for r in rows)
        # no credential or session ever reaches the database
        dump = "\n".join(conn.iterdump())
        assert running["bluesky"].environment()["BLUESKY_APP_PASSWORD"] not in dump
        assert "accessJwt" not in dump and "refreshJwt" not in dump
