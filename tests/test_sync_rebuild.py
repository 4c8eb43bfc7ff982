"""`engage sync --rebuild` (what `invoke sync` runs): rebuild and deploy only after a change."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from syndication_helpers import configure, engage, standins, top_level

from pelican.plugins.engage.store import Store


def test_sync_rebuilds_and_deploys_only_when_the_conversation_changed(
    demo_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = demo_site / "deploys.txt"
    deploy = f"{sys.executable} -c \"open({str(deployed)!r}, 'a').write('x')\""
    with standins(["mastodon"]) as running:
        configure(demo_site, running, monkeypatch)
        assert engage("publish")[0] == 0
        # (publish with a deploy would first check the article URLs answer; they cannot here)
        with (demo_site / "publishconf.py").open("a") as conf:
            conf.write(f"ENGAGE_DEPLOY = {deploy!r}\n")
        deploys_after_publish = ""
        mastodon = running["mastodon"]
        post = next(p for p in top_level(mastodon) if "packaging-a-one-file-script" in p.text)
        mastodon.add_reply(post.id, "bob", "Rebuilt straight away, nice.")
        code, out, err = engage("sync", "--rebuild", "--all")
        assert code == 0, out + err
        page = (demo_site / "output" / "packaging-a-one-file-script.html").read_text()
        assert "Rebuilt straight away, nice." in page
        # The sync rendered the conversation for the rebuild (backfeed/prerender.py).
        with Store.open_readonly(demo_site / "engage.sqlite3") as store:  # type: ignore[union-attr]
            saved = [row[3] for row in store.rendered.saved()]
        assert any("Rebuilt straight away, nice." in html for html in saved)
        assert deployed.read_text() == deploys_after_publish + "x"
        code, out, _ = engage("sync", "--rebuild", "--all")
        assert code == 0 and "Nothing new." in out
        assert deployed.read_text() == deploys_after_publish + "x"  # no change, no deploy
