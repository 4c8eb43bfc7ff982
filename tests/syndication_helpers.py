"""Point a copy of the demo blog at local stand-ins, and read back what they received."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pelican.plugins.engage.cli import cli
from pelican.plugins.engage.sandbox import start_all
from pelican.plugins.engage.sandbox.base import Item, StandIn

# The demo blog's eligible posts and where their Syndicate metadata sends them.
ELIGIBLE = {
    "back-to-plain-files": ("mastodon", "bluesky"),
    "feeds-never-left": ("mastodon", "bluesky"),
    "packaging-a-one-file-script": ("mastodon", "bluesky", "x", "facebook"),
    "boring-moderation-tools": ("mastodon", "bluesky", "x", "facebook"),
    "webmentions-without-a-server": ("mastodon", "bluesky", "x", "facebook"),
    "removed-the-analytics-script": ("mastodon", "bluesky", "x", "facebook"),
}
FOLLOWUPS = {"back-to-plain-files": 2}
SITEURL = "https://notebook.adaquill.example"
SOCIAL = ("mastodon", "bluesky", "x", "facebook")


@contextmanager
def standins(names: Iterable[str] = SOCIAL, latency: float = 0.0) -> Iterator[dict[str, StandIn]]:
    running = start_all(latency=latency, names=tuple(names))
    try:
        yield running
    finally:
        for s in running.values():
            s.stop()


def configure(
    site: Path,
    running: dict[str, StandIn],
    monkeypatch: pytest.MonkeyPatch | None = None,
    *,
    timeout: float = 2,
    **extra: Any,
) -> dict[str, str]:
    """Append the stand-ins' settings to publishconf.py; return (and set) the credentials.

    ``timeout`` is the adapters' per-request timeout: short, so fault tests are
    quick; the crash tests raise it so a busy machine cannot cut a run short.
    """
    networks = {name: {**s.network_options(), "timeout": timeout} for name, s in running.items()}
    settings = {
        "ENGAGE_NETWORKS": networks,
        "ENGAGE_STATE_DIR": str(site / ".state"),
        "ENGAGE_FIRST_RUN_MAX_AGE": "3650d",
        **extra,
    }
    with (site / "publishconf.py").open("a", encoding="utf-8") as conf:
        conf.write("\n# test stand-ins\n")
        conf.writelines(f"{key} = {value!r}\n" for key, value in settings.items())
    env = {k: v for s in running.values() for k, v in s.environment().items()}
    if monkeypatch is not None:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
    return env


def engage(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def own_posts(standin: StandIn) -> list[Item]:
    """What the blog's account has on the network (live, oldest first)."""
    return standin.posts_by("author")


def top_level(standin: StandIn) -> list[Item]:
    return [i for i in own_posts(standin) if i.parent_id is None]


def text_of(item: Item) -> str:
    return item.text
