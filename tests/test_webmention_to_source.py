"""A syndicated post with a Source sends that source one webmention, recorded in the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from sitebuilder import TAKES, write_post, write_settings
from syndication_helpers import configure, engage, own_posts, standins

from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication.ledger import Ledger


def test_the_source_hears_about_the_commentary_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with standins(["mastodon", "webmention"]) as running:
        source = running["webmention"].site_url("link")  # type: ignore[attr-defined]
        write_settings(tmp_path, SITEURL="https://blog.example.net")
        write_post(
            tmp_path / "content",
            "answering-a-post",
            f"Someone wrote [a thing]({source}).\n\n## My take\n\n{TAKES[1]}",
            Date="2026-11-28 10:00",
            Source=source,
        )
        write_post(
            tmp_path / "content", "no-source", f"## My take\n\n{TAKES[2]}", Date="2026-11-28 11:00"
        )
        (tmp_path / "publishconf.py").write_text("from pelicanconf import *\n")
        configure(tmp_path, running, monkeypatch)
        for _ in range(2):
            code, out, err = engage("publish", "-s", str(tmp_path / "publishconf.py"))
            assert code == 0, out + err
        received = running["webmention"].received  # type: ignore[attr-defined]
        assert received == [
            {
                "source": "https://blog.example.net/answering-a-post.html",
                "target": source,
                "path": "/webmention/receive",
                "via": "link",
            }
        ]
        assert len(own_posts(running["mastodon"])) == 2
        with Store.open(tmp_path / "engage.sqlite3") as store:
            sent = Ledger(store).entries(network="webmention")
        assert [(e.article, e.state) for e in sent] == [("content/answering-a-post.md", "posted")]
