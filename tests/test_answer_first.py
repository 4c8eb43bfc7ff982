"""ENGAGE_ANSWER_WITHIN: answer the people waiting before broadcasting something new."""

from __future__ import annotations

from pathlib import Path

import pytest
from syndication_helpers import configure, engage, own_posts, standins

from pelican.plugins.engage.store import Store


def old_comment(site: Path) -> None:
    with Store.open(site / "engage.sqlite3") as store, store.transaction() as conn:
        conn.execute(
            "INSERT INTO comment (id, network, remote_id, article, author_name, author_handle,"
            " author_url, html, url, created_at, first_seen, last_seen) VALUES"
            " ('mastodon:1', 'mastodon', '1', 'content/feeds-never-left.md', 'Bob Marsh', 'bob',"
            " '', '<p>Which reader do you use?</p>', 'https://m.example/@bob/1',"
            " '2026-11-01T09:00:00+00:00', '', '')"
        )


@pytest.mark.parametrize("strict", [False, True])
def test_waiting_comments_warn_or_hold_new_posts(
    demo_site: Path, monkeypatch: pytest.MonkeyPatch, strict: bool
) -> None:
    old_comment(demo_site)
    with standins(["mastodon"]) as running:
        configure(demo_site, running, monkeypatch, ENGAGE_ANSWER_WITHIN="72h", ENGAGE_STRICT=strict)
        if strict:
            # ENGAGE_STRICT also holds posts that fail the gate: let the demo's pass here.
            for path in (
                "trusted-publishing-for-linkrot",
                "sam-okafor-small-instance",
                "css-nesting-everywhere",
                "another-bookmarking-service-closing",
                "new-on-call-handbook",
                "small-web-index-open-again",
            ):
                (demo_site / "content" / f"{path}.md").unlink()
        code, out, err = engage("publish")
        text = " ".join((out + err).split())
        assert "1 comments have waited longer than ENGAGE_ANSWER_WITHIN (3d 0h)" in text
        assert "from Bob Marsh on Mastodon" in text
        if strict:
            assert code == 1 and "new posts were not queued" in text
            assert own_posts(running["mastodon"]) == []
        else:
            assert code == 0 and len(own_posts(running["mastodon"])) == 8
