"""`engage sync` learns the site's posts from the store while no content or settings file
changed, instead of running Pelican's generators on every run."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner
from sitebuilder import TAKE, TAKES, write_post, write_settings

from pelican.plugins.engage import site
from pelican.plugins.engage.backfeed.site_posts import SyncedPost, known_posts
from pelican.plugins.engage.cli import cli
from pelican.plugins.engage.sandbox.mastodon import MastodonStandIn


def make_site(root: Path, **extra: object) -> Path:
    conf = write_settings(root, **extra)
    write_post(
        root / "content", "hello", f"## My take\n\n{TAKE}", Comments_Feed="https://c.example/f"
    )
    write_post(root / "content", "other", f"## My take\n\n{TAKES[1]}", Status="draft")
    return conf


def test_the_posts_are_read_once_until_a_file_changes(tmp_path: Path) -> None:
    conf = make_site(tmp_path)
    settings = site.load_settings(conf)
    reads: list[int] = []

    def read() -> Sequence[SyncedPost]:
        reads.append(1)
        return site.read_site(settings).posts

    def posts() -> Sequence[SyncedPost]:
        return known_posts(tmp_path / "engage.sqlite3", tmp_path / "content", conf, read)

    first = posts()
    second = posts()
    assert len(reads) == 1
    assert [(p.key, p.slug, p.url, p.status, p.meta.comments_feed) for p in first] == [
        (p.key, p.slug, p.url, p.status, p.meta.comments_feed) for p in second
    ]
    assert {p.status for p in second} == {"published", "draft"}
    hello = tmp_path / "content" / "hello.md"
    os.utime(hello, ns=(hello.stat().st_atime_ns, hello.stat().st_mtime_ns + 10**9))
    posts()
    assert len(reads) == 2  # an edited post is read again
    write_post(tmp_path / "content", "third", f"## My take\n\n{TAKES[2]}")
    assert {p.slug for p in posts()} == {"hello", "other", "third"} and len(reads) == 3
    (tmp_path / "pelicanconf.py").write_text(conf.read_text() + "\n# edited\n")
    posts()
    assert len(reads) == 4  # the settings decide URLs: read again


def test_a_second_sync_does_not_read_the_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with MastodonStandIn() as server:
        conf = make_site(
            tmp_path,
            ENGAGE_NETWORKS={"mastodon": server.network_options()},
            SITEURL="https://b.example",
        )
        for key, value in server.environment().items():
            monkeypatch.setenv(key, value)
        calls: list[int] = []
        real = site.read_site

        def counting(settings: dict[str, object]) -> object:
            calls.append(1)
            return real(settings)  # type: ignore[arg-type]

        monkeypatch.setattr(site, "read_site", counting)
        for _ in range(2):
            result = CliRunner().invoke(cli, ["sync", "-s", str(conf)])
            assert result.exit_code == 0, result.output
        assert len(calls) == 1
        result = CliRunner().invoke(cli, ["sync", "-s", str(conf), "--article", "hello"])
        assert result.exit_code == 0 and len(calls) == 1, result.output
        result = CliRunner().invoke(cli, ["sync", "-s", str(conf), "--article", "nope"])
        assert result.exit_code == 2 and "no article with the slug" in result.output
