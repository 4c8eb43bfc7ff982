"""Real Pelican builds with the plugin: the page, the cache, the database left alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pelican import Pelican  # type: ignore[attr-defined]
from sitebuilder import TAKE, write_post, write_settings

from pelican.plugins.engage import plugin, site
from pelican.plugins.engage.cli import cli


def build(conf: Path, **override: object) -> plugin.BuildRecord:
    return site.build_site(site.load_settings(conf, override))


def page(site_dir: Path, slug: str) -> str:
    return (site_dir / "output" / f"{slug}.html").read_text(encoding="utf-8")


def test_demo_article_pages_show_the_take_and_the_verdict(demo_site: Path) -> None:
    record = build(demo_site / "pelicanconf.py")
    assert len(record.posts) == 15
    good = page(demo_site, "back-to-plain-files")
    assert good.count('class="engage-commentary"') == 1
    assert "Will be cross-posted" in good
    held = page(demo_site, "trusted-publishing-for-linkrot")
    assert "Will not be cross-posted" in held
    assert "commentary has 15 words, 40 needed" in held
    rst = page(demo_site, "webmentions-without-a-server")
    assert 'class="engage-commentary"' in rst
    assert not (demo_site / "engage.sqlite3").exists()  # the build never creates state


def test_publish_settings_hide_the_verdict(demo_site: Path) -> None:
    build(demo_site / "publishconf.py")
    html = page(demo_site, "trusted-publishing-for-linkrot")
    assert "cross-posted" not in html and "commentary has 15 words" not in html
    assert 'class="engage-commentary"' in page(demo_site, "back-to-plain-files")


def test_verdicts_follow_the_state_database_even_with_the_content_cache(demo_site: Path) -> None:
    """Pelican's content cache is keyed on source files; engage data must not be baked in."""
    cached = {
        "CACHE_CONTENT": True,
        "LOAD_CONTENT_CACHE": True,
        "CACHE_PATH": str(demo_site / "cache"),
    }
    build(demo_site / "pelicanconf.py", **cached)
    before = page(demo_site, "feeds-never-left")
    assert "source_unchecked" in before or "could not be compared" in before
    CliRunner().invoke(cli, ["check"])  # fetches the saved source feed into the database
    build(demo_site / "pelicanconf.py", **cached)
    after = page(demo_site, "feeds-never-left")
    assert "Will be cross-posted" in after
    assert after.count('class="engage-commentary"') == 1  # marked once, not once per build


def test_a_site_without_the_plugin_still_builds_with_the_theme(tmp_path: Path) -> None:
    conf = write_settings(tmp_path, PLUGINS=[])
    write_post(tmp_path / "content", "plain", f"## My take\n\n{TAKE}")
    Pelican(site.load_settings(conf)).run()
    html = (tmp_path / "output" / "plain.html").read_text()
    assert "engage-commentary" not in html and "cross-posted" not in html


def test_handlers_stay_quiet_for_builds_without_the_plugin(tmp_path: Path) -> None:
    with_plugin = write_settings(tmp_path / "a")
    write_post(tmp_path / "a" / "content", "p", f"## My take\n\n{TAKE}")
    build(with_plugin)
    without = write_settings(tmp_path / "b", PLUGINS=[])
    write_post(tmp_path / "b" / "content", "p", f"## My take\n\n{TAKE}")
    Pelican(site.load_settings(without)).run()  # signals still connected from the first build
    assert plugin.last_build() is None
    assert "engage-commentary" not in (tmp_path / "b" / "output" / "p.html").read_text()


def test_a_corrupt_database_does_not_stop_the_build(tmp_path: Path) -> None:
    conf = write_settings(tmp_path)
    write_post(tmp_path / "content", "p", f"## My take\n\n{TAKE}")
    (tmp_path / "engage.sqlite3").write_bytes(b"junk" * 100)
    record = build(conf)
    assert record.posts[0].verdict.eligible
    assert (tmp_path / "engage.sqlite3").read_bytes() == b"junk" * 100


def test_commentary_html_is_exposed_to_templates(tmp_path: Path) -> None:
    conf = write_settings(tmp_path)
    write_post(
        tmp_path / "content", "p", f"Intro.\n\n## My take\n\n{TAKE}\n\n## Links\n\nElsewhere."
    )
    settings = site.load_settings(conf)
    pelican = Pelican(settings)
    pelican.run()
    record = plugin.last_build()
    assert record is not None and record.posts[0].verdict.analysis.commentary is not None
    assert record.posts[0].verdict.analysis.commentary.html == f"<p>{TAKE}</p>"


def test_a_production_build_skips_the_site_wide_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verdicts are computed when read: a build without the verdict box needs none."""
    from pelican.plugins.engage.gate import rules as gate

    calls = []
    real = gate.evaluate
    monkeypatch.setattr(gate, "evaluate", lambda *a, **k: calls.append(1) or real(*a, **k))
    conf = write_settings(tmp_path, ENGAGE_SHOW_GATE=False)
    write_post(tmp_path / "content", "p", f"## My take\n\n{TAKE}")
    record = build(conf)
    assert calls == []
    assert 'class="engage-commentary"' in (tmp_path / "output" / "p.html").read_text()
    assert record.posts[0].verdict.eligible and calls == [1]  # computed on first use, once
    assert record.posts[0].verdict.eligible and calls == [1]
    build(write_settings(tmp_path, ENGAGE_SHOW_GATE=True))
    assert len(calls) == 2  # the verdict box reads it
