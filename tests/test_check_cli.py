"""`engage check` on the demo blog and on small sites: the report, the JSON, the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sitebuilder import TAKE, write_post, write_settings

from pelican.plugins.engage.cli import cli

# What the demo blog is written to show: one post failing each rule.
DEMO_EXPECTED = {
    "content/back-to-plain-files.md": (True, []),
    "content/packaging-a-one-file-script.md": (True, []),
    "content/boring-moderation-tools.md": (True, []),
    "content/webmentions-without-a-server.rst": (True, []),
    "content/feeds-never-left.md": (True, []),
    "content/removed-the-analytics-script.md": (True, []),
    "content/small-web-index-open-again.md": (False, ["missing_commentary"]),
    "content/trusted-publishing-for-linkrot.md": (False, ["too_short"]),
    "content/sam-okafor-small-instance.md": (False, ["mostly_quoted"]),
    "content/css-nesting-everywhere.md": (False, ["copied_from_source"]),
    "content/another-bookmarking-service-closing.md": (False, ["reused_commentary"]),
    "content/new-on-call-handbook.md": (False, ["source_unchecked"]),
}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_demo_blog_json_reports_every_post(demo_site: Path) -> None:
    code, out, _ = run("check", "--json")
    assert code == 1  # the demo deliberately holds posts back
    report = json.loads(out)
    by_path = {a["source_path"]: a for a in report["articles"]}
    for path, (eligible, codes) in DEMO_EXPECTED.items():
        article = by_path[path]
        assert article["candidate"] is True, path
        assert article["eligible"] is eligible, (path, article["reasons"])
        assert [r["code"] for r in article["reasons"]] == codes, path
    assert report["summary"] == {"candidates": 12, "eligible": 6}
    assert by_path["content/a-quieter-november.md"]["candidate"] is False  # Syndicate: none
    assert by_path["content/hosting-my-own-photo-gallery.md"]["candidate"] is False  # draft
    assert by_path["content/pages/about.md"] == {
        "source_path": "content/pages/about.md",
        "slug": "about",
        "title": "About",
        "candidate": False,
        "eligible": False,
        "commentary_words": 0,
        "reasons": [],
    }
    too_short = by_path["content/trusted-publishing-for-linkrot.md"]
    assert too_short["reasons"][0]["message"] == "commentary has 15 words, 40 needed"
    assert set(too_short) == {
        "source_path",
        "slug",
        "title",
        "candidate",
        "eligible",
        "commentary_words",
        "reasons",
    }


def test_demo_blog_readable_report(demo_site: Path) -> None:
    code, out, _ = run("check")
    assert code == 1
    assert "Commentary gate" in out
    assert "6 of 12 candidate posts will be cross-posted; 6 held back" in out


def test_source_texts_are_cached_with_their_status(demo_site: Path) -> None:
    run("check")
    from pelican.plugins.engage.store import Store

    with Store.open(demo_site / "engage.sqlite3") as store:
        sources = store.sources()
    assert sources["https://blog.example.com/2026/11/feeds-are-back"].ok
    unreachable = sources["https://intranet.example.invalid/handbook/on-call"]
    assert (
        not unreachable.ok and unreachable.error == "connection failed" and unreachable.fetched_at
    )


def site_with(tmp_path: Path, **settings: object) -> Path:
    conf = write_settings(tmp_path, **settings)
    return conf


def test_all_good_exits_zero(tmp_path: Path) -> None:
    conf = site_with(tmp_path)
    write_post(tmp_path / "content", "good", f"News.\n\n## My take\n\n{TAKE}")
    code, out, _ = run("check", "-s", str(conf))
    assert code == 0 and "1 of 1 candidate posts will be cross-posted." in out


def test_bad_metadata_is_one_sentence_naming_file_and_key(tmp_path: Path) -> None:
    conf = site_with(tmp_path)
    write_post(tmp_path / "content", "bad", f"## My take\n\n{TAKE}", Syndicate="mastodon, myspace")
    code, out, _ = run("check", "-s", str(conf), "--json")
    article = json.loads(out)["articles"][0]
    assert code == 1 and not article["eligible"]
    assert article["reasons"] == [
        {
            "code": "invalid_metadata",
            "message": "metadata 'Syndicate' names unknown network 'myspace' "
            "(known: mastodon, bluesky, x, facebook, webmention, feed)",
        }
    ]


def test_bad_setting_is_one_sentence(tmp_path: Path) -> None:
    conf = site_with(tmp_path, ENGAGE_MIN_COMMENTARY_WORDS="lots")
    write_post(tmp_path / "content", "good", f"## My take\n\n{TAKE}")
    code, _, err = run("check", "-s", str(conf))
    assert code == 2
    assert err.strip() == "Error: ENGAGE_MIN_COMMENTARY_WORDS must be a number, not 'lots'"


def test_plugin_that_did_not_load_is_an_error(tmp_path: Path) -> None:
    conf = site_with(tmp_path, PLUGINS=[])
    write_post(tmp_path / "content", "good", f"## My take\n\n{TAKE}")
    code, _, err = run("check", "-s", str(conf))
    assert code == 2 and "the engage plugin did not run" in err


def test_missing_settings_file(tmp_path: Path) -> None:
    code, _, err = run("check", "-s", str(tmp_path / "nope.py"))
    assert code == 2 and "settings file" in err and "does not exist" in err


def test_thresholds_are_settings(tmp_path: Path) -> None:
    conf = site_with(
        tmp_path, ENGAGE_MIN_COMMENTARY_WORDS=200, ENGAGE_COMMENTARY_HEADINGS=["Meine Meinung"]
    )
    write_post(tmp_path / "content", "de", f"## Meine Meinung\n\n{TAKE}")
    _, out, _ = run("check", "-s", str(conf), "--json")
    article = json.loads(out)["articles"][0]
    assert (
        article["reasons"][0]["message"] == f"commentary has {len(TAKE.split())} words, 200 needed"
    )
