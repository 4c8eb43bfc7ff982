"""Telling the author that comments arrived: one message per `engage watch` cycle.

:class:`Notifier` is the interface; :class:`AppriseNotifier` sends through
`Apprise <https://github.com/caronc/apprise>`_ URLs (``ENGAGE_NOTIFY``:
``mailto://…``, ``ntfy://…``, …), importing ``apprise`` only when a message
goes out, so nothing needs it otherwise; :class:`MemoryNotifier` keeps the
messages (tests). ``${NAME}`` in a URL is taken from the environment, so a
password or token never has to be written in the settings file.

The message says who wrote where: the commenter's name, the network and the
article's title, and the link to the comment. It is built from the stored
(sanitized, one-line) fields only, never from an Apprise URL, and every
credential value of the environment is masked in it, so no token can travel.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import ConfigError
from ..http_client import redact
from ..networks import network_label
from ..store import Store

log = logging.getLogger(__name__)

MAX_LISTED = 20  # comments named one by one in a message; the rest are counted
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Environment variables whose values must never appear in a message.
SECRET_NAMES = re.compile(r"TOKEN|SECRET|PASSWORD|KEY", re.IGNORECASE)


class Notifier(Protocol):
    def send(self, title: str, body: str) -> bool:
        """Deliver one message; False when it could not be delivered."""


@dataclass
class Message:
    title: str
    body: str


class MemoryNotifier:
    """Keeps what it is asked to send (tests, dry runs)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def send(self, title: str, body: str) -> bool:
        self.messages.append(Message(title, body))
        return True


class AppriseNotifier:
    """Sends through Apprise URLs; ``apprise`` is imported on the first message."""

    def __init__(self, urls: Sequence[str], env: Mapping[str, str]) -> None:
        self.urls = [expand(url, env) for url in urls]

    def send(self, title: str, body: str) -> bool:
        try:
            import apprise  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise ConfigError(
                "ENGAGE_NOTIFY needs the apprise package: pip install apprise"
            ) from None
        sender = apprise.Apprise()
        for url in self.urls:
            if not sender.add(url):
                log.warning("engage: ENGAGE_NOTIFY has a URL Apprise does not understand")
        return bool(sender.notify(title=title, body=body))


def expand(url: str, env: Mapping[str, str]) -> str:
    """``${NAME}`` replaced by the environment's value (ConfigError naming a missing one)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"ENGAGE_NOTIFY uses ${{{name}}}, which the environment lacks")
        return env[name]

    return _VARIABLE.sub(value, url)


def secrets_of(env: Mapping[str, str]) -> list[str]:
    """Values of the environment's credential variables (masked in every message)."""
    return [v for k, v in env.items() if SECRET_NAMES.search(k) and len(v) >= 4]


def new_comments_message(
    store: Store, comment_ids: Iterable[str], env: Mapping[str, str]
) -> Message | None:
    """One message naming who wrote where, or None when nothing shows (own, hidden)."""
    rows = [
        r
        for r in store.comments.rows(list(dict.fromkeys(comment_ids))).values()
        if not r["is_own"] and not r["moderated"] and not r["removed"]
    ]
    if not rows:
        return None
    rows.sort(key=lambda r: str(r["created_at"]))
    titles = _titles(store)
    lines = []
    for row in rows[:MAX_LISTED]:
        article = titles.get(row["article"]) or row["article"]
        lines.append(
            f"- {row['author_name']} on {network_label(row['network'])}, "
            f"about “{article}”: {row['url']}"
        )
    if len(rows) > MAX_LISTED:
        lines.append(f"… and {len(rows) - MAX_LISTED} more: `engage inbox` lists them all.")
    count = len(rows)
    title = f"{count} new comment{'s' if count != 1 else ''} on your blog"
    body = redact("\n".join(lines), secrets_of(env))
    return Message(redact(title, secrets_of(env)), body)


def _titles(store: Store) -> dict[str, str]:
    """Article key -> title, from what the last build or check recorded."""
    posts = getattr(store, "posts", None)
    if posts is None:
        return {}
    return {row["key"]: row["title"] for row in posts.all() if row.get("title")}
