"""`engage sync` against the Bluesky stand-in: a deleted reply and the subtree under it.

The real AppView drops a deleted reply together with its whole subtree from
getPostThread (the stand-in does the same, see tests/test_conformance_bluesky.py).
The replies under it were not deleted by their authors, yet the thread no longer
lists them: the merge follows its rule for any comment missing from a complete
read, and removes them only after two complete reads in a row without them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from network_fixtures import one_post_site, standin_fixtures

from pelican.plugins.engage.backfeed.conversation import load_conversations
from pelican.plugins.engage.cli import cli
from pelican.plugins.engage.networks import build_adapter
from pelican.plugins.engage.networks.base import AdapterContext, OutgoingPost
from pelican.plugins.engage.sandbox.bluesky import BlueskyStandIn
from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication.ledger import Entry, Ledger

server, standin = standin_fixtures(BlueskyStandIn)


# -- a deleted reply and its subtree, through `engage sync` -------------------------------------


def test_a_deleted_replys_subtree_goes_only_after_two_complete_reads(
    standin: BlueskyStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site, options, posted = one_post_site(tmp_path, "bluesky", standin, monkeypatch)
    ctx = AdapterContext(env=standin.environment(), state_dir=tmp_path / "state")
    with build_adapter("bluesky", options, ctx) as adapter:
        ref = adapter.publish(OutgoingPost(text="My take", idempotency_key="k", created_at=posted))
    with Store.open(site / "engage.sqlite3") as store:
        ledger = Ledger(store)
        article = "https://blog.example.net/hello.html"
        entry = ledger.add(
            Entry("content/hello.md", "bluesky", 0, "t", article, posted, "k", posted)
        )
        ledger.mark_posted(entry, ref)
    root = standin.live(ref.id)
    assert root is not None
    bob = standin.add_reply(root.id, "bob", "Bob: good point")
    carol = standin.add_reply(bob.id, "carol", "Carol: I disagree with Bob")
    standin.add_reply(carol.id, "eve", "Eve: so do I")
    standin.add_reply(root.id, "dave", "Dave: bookmarked")

    def sync() -> dict[str, Any]:
        result = CliRunner().invoke(
            cli, ["sync", "--all", "--json", "-s", str(site / "pelicanconf.py")]
        )
        assert result.exit_code == 0, result.stdout
        return json.loads(result.stdout)["networks"]["bluesky"]

    def shown() -> list[str]:
        with Store.open(site / "engage.sqlite3") as store:
            conversation = load_conversations(store).get("content/hello.md")
        found, stack = [], list(conversation.comments if conversation else [])
        while stack:
            node = stack.pop()
            found.append(str(node.html))
            stack.extend(node.children)
        return sorted(found)

    assert sync()["new"] == 4
    everyone = shown()
    assert len(everyone) == 4
    standin.delete(bob.id)  # the AppView now drops Bob, Carol and Eve from the thread
    first = sync()
    assert first["removed"] == 0
    assert shown() == everyone  # missing once: perhaps a hiccup, nothing goes yet
    second = sync()
    assert second["removed"] == 3
    assert len(shown()) == 1 and "Dave" in shown()[0]
