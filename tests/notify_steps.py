"""Steps the notification tests take in more than one of their worlds."""

from __future__ import annotations

from typing import Any

from notify_worlds import World


def answer_a_stored_reply(world: World, post: int, bob: str, carol: str, **kw: Any) -> None:
    """Two posts, synced; Bob answers post number ``post`` (``bob``) and a sync stores his
    reply; then Carol answers Bob (``carol``, with ``kw`` as :meth:`World.reply` takes
    them), and no sync has seen her answer yet."""
    world.publish(2)
    world.sync()
    first = world.reply(world.refs[post].id, "bob", bob)
    world.sync()
    world.reply(first, "carol", carol, **kw)
