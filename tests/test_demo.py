"""`invoke demo` without the server: the served site shows the whole conversation."""

from __future__ import annotations

from pathlib import Path

from pelican.plugins.engage.cli import demo


def test_demo_runs_the_whole_loop(demo_site: Path) -> None:
    run = demo.main(demo_site, 8765, serve_site=False)
    try:
        page = (run.output / "packaging-a-one-file-script.html").read_text(encoding="utf-8")
        # cross-posted everywhere, linked back
        for label in ("Mastodon", "Bluesky", "X", "Facebook"):
            assert f"Discuss on {label}" in page
        # other accounts' replies came back, threaded, with counts
        assert page.count("This matches my experience.") == 4
        assert page.count("Same question here") == 4
        assert "h-cite" in page and "3 likes" in page
        # the author's answers from the command line are marked as the author's
        assert page.count("Thank you, Bob!") + page.count("Thank you, Dave!") >= 1
        assert "Ada Quill" in page and "Author" in page
        # the demo never touched the site's own state database or output
        assert not (demo_site / "engage.sqlite3").exists()
        assert not (demo_site / "output").exists()
        assert (run.work / "engage-dashboard.html").exists()
    finally:
        for standin in run.standins.values():
            standin.stop()
