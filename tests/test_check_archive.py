"""An existing blog's archive: 300 posts, most written before the plugin (issue 12).

`engage check` summarises what is held back instead of printing 300 rows
(``--all`` prints them, ``--json`` is unchanged), and the first publish does
not flood a network with the archive: `engage plan` queues the recent posts
only, even when old posts pass the gate.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console
from sitebuilder import TAKES, write_post, write_settings

from pelican.plugins.engage import site
from pelican.plugins.engage.cli import cli, report

RECENT = 3  # posts of the last few days, with a commentary
OLD_PASSING = 150  # archive posts that happen to carry a commentary that passes
MISSING = 120  # archive posts without a commentary
TOO_SHORT = 27  # archive posts with a one-line take
TOTAL = RECENT + OLD_PASSING + MISSING + TOO_SHORT

# Made-up two-syllable words ("bako", "tiru"...): 3,025 of them, so random takes never repeat.
SYLLABLES = [c + v for c in "bdgklmnprst" for v in "aeiou"]
WORDS = [a + b for a in SYLLABLES for b in SYLLABLES]


def original_take(rng: random.Random) -> str:
    """Fifty words no other post uses in the same order: passes the reuse check."""
    return " ".join(rng.choice(WORDS) for _ in range(50)) + "."


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("archive")
    conf = write_settings(
        root,
        ENGAGE_NETWORKS={"x": {"base_url": "http://127.0.0.1:9"}},  # plan measures offline
        ENGAGE_STATE_DIR=str(root / ".state"),
    )
    content = root / "content"
    rng = random.Random(12)
    now = datetime.now(UTC)
    old = datetime(2016, 1, 4, 9, 0, tzinfo=UTC)

    def date(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%d %H:%M")

    for i in range(RECENT):
        when = date(now - timedelta(days=i + 1))
        write_post(content, f"recent-{i}", f"## My take\n\n{TAKES[i]}", Date=when)
    for i in range(OLD_PASSING):
        when = date(old + timedelta(days=7 * i))
        write_post(content, f"old-take-{i}", f"## My take\n\n{original_take(rng)}", Date=when)
    for i in range(MISSING):
        when = date(old + timedelta(days=7 * i + 3))
        write_post(content, f"old-link-{i}", "A link I liked, without a word of mine.", Date=when)
    for i in range(TOO_SHORT):
        when = date(old + timedelta(days=7 * i + 5))
        write_post(content, f"old-short-{i}", f"## My take\n\nShort note {i} here.", Date=when)
    return conf


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, terminal_width=120)


def titles_in(output: str) -> set[str]:
    return set(re.findall(r"Old (?:Take|Link|Short) \d+", output))


def test_check_summarises_an_archive_instead_of_printing_every_row(archive: Path) -> None:
    result = run("check", "-s", str(archive))
    assert result.exit_code == 1  # candidates fail: the exit code is the contract, not the view
    out = result.stdout
    counts = dict(re.findall(r"(missing_commentary|too_short)\s+│\s+(\d+)", out))
    assert counts == {"missing_commentary": str(MISSING), "too_short": str(TOO_SHORT)}
    assert "`engage check --all` lists all 300 posts" in out
    assert "ENGAGE_FIRST_RUN_MAX_AGE" in out and "14 days" in out
    held = len(titles_in(out) & {f"Old Link {i}" for i in range(MISSING)})
    assert 0 < held <= report.NEWEST_SHOWN + 1  # the newest few (and one as an example)
    assert len(titles_in(out)) <= 2 * report.NEWEST_SHOWN + 2
    assert out.count("\n") < 80, "the summary is not short"
    assert f"{RECENT + OLD_PASSING} of {TOTAL} candidate posts will be cross-posted" in out


def test_check_all_prints_every_row(archive: Path) -> None:
    result = run("check", "--all", "-s", str(archive))
    assert result.exit_code == 1
    assert len(titles_in(result.stdout)) == OLD_PASSING + MISSING + TOO_SHORT
    assert "--all" not in result.stdout


def test_check_json_is_unchanged_by_the_summary(archive: Path) -> None:
    result = run("check", "--json", "-s", str(archive))
    data = json.loads(result.stdout)
    assert len(data["articles"]) == TOTAL
    assert data["summary"] == {"candidates": TOTAL, "eligible": RECENT + OLD_PASSING}
    codes = Counter(r["code"] for a in data["articles"] for r in a["reasons"])
    assert codes == {"missing_commentary": MISSING, "too_short": TOO_SHORT}


def test_twenty_held_back_posts_still_get_a_row_each(archive: Path) -> None:
    record = site.read_site(site.load_settings(archive))
    failing = report.failing(record.posts)
    passing = [p for p in record.posts if p.verdict.eligible][:3]
    for posts, summarised in (
        (passing + failing[: report.SUMMARY_OVER], False),
        (passing + failing[: report.SUMMARY_OVER + 1], True),
    ):
        console = Console(record=True, width=120)
        report.print_gate_report(console, posts)
        text = console.export_text()
        assert ("`engage check --all`" in text) is summarised
        assert (len(titles_in(text)) == len(posts) - 3) is not summarised


def test_the_first_plan_queues_only_recent_posts(archive: Path) -> None:
    """The first-run guard: old posts that pass the gate are not sent at the first publish."""
    result = run("plan", "--json", "-s", str(archive))
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    states = Counter(row["state"] for row in rows)
    queued = {row["article"] for row in rows if row["state"] == "new"}
    assert queued == {f"content/recent-{i}.md" for i in range(RECENT)}
    assert states == {"new": RECENT, "skipped": OLD_PASSING}


def test_the_plan_table_skips_the_archive_in_one_line(archive: Path) -> None:
    result = run("plan", "-s", str(archive))
    assert result.exit_code == 0, result.output
    assert "Recent 0" in result.stdout and "Old Take" not in result.stdout
    assert f"{OLD_PASSING} snippets of {OLD_PASSING} older posts are skipped" in result.stdout
