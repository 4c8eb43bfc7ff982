"""Moderation: which comments never show (hidden ids, blocked accounts and domains).

Moderation is permanent: a comment hidden with `engage hide`, or written by
an account or domain on the blocklist (settings or the moderation table), is
stored with ``moderated = 1`` and no later sync clears it. The author's own
answers are never matched by the blocklist; only `engage hide` takes them down.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..store import Store


def host_of(url: str) -> str:
    """The lower-case host of ``url``, or "" when it has none."""
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def _under(host: str, domain: str) -> bool:
    return bool(host) and (host == domain or host.endswith("." + domain))


@dataclass
class Moderation:
    """Comment ids, accounts and domains whose comments never show.

    Accounts are written as the networks show handles (``@bob@mastodon.social``,
    ``bob.bsky.social``, ``bob``); a domain (``spam.example``) blocks every
    account whose handle or page lives there, subdomains included. An entry
    without ``@`` may be either, so it is tried as both: a Bluesky handle is a
    domain anyway. ``network:handle`` limits an account to one network.
    """

    comments: set[str] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, store: Store, blocklist: Iterable[str] = ()) -> Moderation:
        """The settings' blocklist and the store's moderation table together."""
        found = cls()
        for entry in blocklist:
            found.block(entry)
        for kind, value in store.comments.moderation():
            if kind == "comment":
                found.comments.add(value)
            elif kind == "domain":
                found.domains.add(value.lower())
            else:
                found.block(value)
        return found

    def block(self, entry: str) -> None:
        value = entry.strip().lower()
        if "://" in value:
            self.domains.add(host_of(value))
            return
        network, colon, handle = value.rpartition(":") if ":" in value else ("", "", value)
        handle = handle.lstrip("@")
        if not handle:
            return
        self.accounts.add(f"{network}{colon}{handle}")
        if not network and "@" not in handle and "." in handle:
            self.domains.add(handle)

    def hides(self, cid: str, network: str, handle: str, author_url: str, url: str) -> bool:
        if cid in self.comments:
            return True
        name = handle.strip().lower().lstrip("@")
        if name and (name in self.accounts or f"{network}:{name}" in self.accounts):
            return True
        hosts = {host_of(author_url), host_of(url)}
        if "@" in name:
            hosts.add(name.rsplit("@", 1)[1])
        elif "." in name:
            hosts.add(name)  # Bluesky handles and webmention authors are domains
        return any(_under(h, d) for h in hosts for d in self.domains)

    def matches(self, row: Mapping[str, Any]) -> bool:
        """Whether a stored comment (id, network, author_handle, author_url, url, is_own)
        should be hidden now."""
        if row["id"] in self.comments:
            return True
        return not row["is_own"] and self.hides(
            row["id"], row["network"], row["author_handle"], row["author_url"], row["url"]
        )


def hide_comment(
    store: Store, moderation: Moderation, row: Mapping[str, Any], *, author: bool, stamp: str
) -> int:
    """Hide the stored comment ``row`` for good (and, with ``author``, its author's account).

    Records it in the moderation table and ``moderation``; returns how many
    stored comments this took off the page.
    """
    cid = row["id"]
    with store.atomic():
        store.comments.add_moderation("comment", cid, stamp)
        moderation.comments.add(cid)
        if author and row["author_handle"]:
            account = f"{row['network']}:{row['author_handle'].lower().lstrip('@')}"
            store.comments.add_moderation("account", account, stamp)
            moderation.accounts.add(account)
        return apply_moderation(store, moderation)


def apply_moderation(store: Store, moderation: Moderation) -> int:
    """Hide the stored comments ``moderation`` names now; returns how many."""
    with store.atomic():
        matched = [r["id"] for r in store.comments.unmoderated() if moderation.matches(r)]
        return store.comments.moderate(matched)
