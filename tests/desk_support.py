"""The demo blog answered on local stand-ins, and an answer desk serving it (desk tests)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from syndication_helpers import configure, engage, standins, top_level

from pelican.plugins.engage import site
from pelican.plugins.engage.answering.desk import Desk
from pelican.plugins.engage.sandbox.base import StandIn
from pelican.plugins.engage.settings import EngageSettings

NETWORKS = ("mastodon", "bluesky", "x", "facebook")
CONF = "publishconf.py"
POST_SLUG = "packaging-a-one-file-script"


def converse(running: dict[str, StandIn]) -> dict[str, tuple[str, str]]:
    """Bob answers each network's first post and Carol answers Bob: (bob id, carol id)."""
    made = {}
    for name, standin in running.items():
        post = next(p for p in top_level(standin) if POST_SLUG in p.text)
        bob = standin.add_reply(post.id, "bob", f"Which build backend did you pick? ({name})")
        carol = standin.add_reply(bob.id, "carol", f"Same question, and why not a zipapp? ({name})")
        made[name] = (bob.id, carol.id)
    return made


@contextmanager
def conversation(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch, networks: tuple[str, ...] = NETWORKS
) -> Iterator[tuple[dict[str, StandIn], dict[str, tuple[str, str]]]]:
    """The demo blog published to the stand-ins, two comments per network, synced."""
    with standins(networks) as running:
        configure(site_dir, running, monkeypatch)
        code, out, err = engage("publish")
        assert code == 0, out + err
        made = converse(running)
        code, out, err = engage("sync", "-s", CONF, "--all")
        assert code == 0, out + err
        yield running, made


def settings(conf: str = CONF) -> EngageSettings:
    return EngageSettings.from_pelican(site.load_settings(Path(conf)))


@contextmanager
def serving(engage_settings: EngageSettings) -> Iterator[Desk]:
    desk = Desk(engage_settings).start()
    try:
        yield desk
    finally:
        desk.stop()


def inbox() -> list[dict[str, Any]]:
    code, out, _ = engage("inbox", "--json")
    assert code == 0
    return list(json.loads(out))


def ref_of(network: str, remote_id: str) -> int:
    return next(int(w["ref"]) for w in inbox() if w["id"] == f"{network}:{remote_id}")


def signed_in(desk: Desk) -> httpx.Client:
    """An HTTP client that opened the printed address: it holds the desk's cookie."""
    client = httpx.Client(base_url=desk.origin, timeout=30)
    first = client.get(desk.url)
    assert first.status_code == 303 and first.headers["location"] == "/"
    return client


def same_origin(desk: Desk) -> dict[str, str]:
    """The headers a POST from the desk's own page carries."""
    return {
        "Origin": desk.origin,
        "Sec-Fetch-Site": "same-origin",
        "X-CSRF-Token": desk.csrf,
        "Content-Type": "application/json",
    }
