"""The Mastodon stand-in's JSON: accounts, statuses, scheduled statuses and the instance,
shaped like the recorded answers in tests/recordings/mastodon (a reply from another
server carries ``url``/``uri`` on its own host and an ``acct`` of ``user@host``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from .base import Item, StandIn, iso_millis
from .mastodon_text import URL_RESERVED, render_text
from .notify import Event

MAX_CHARACTERS = 500
# Status fields about the reader: Mastodon leaves them out for an anonymous one.
VIEWER_FIELDS = ("favourited", "reblogged", "muted", "bookmarked", "pinned", "filtered")
# Accounts that live on another server: their acct, url and uri carry that host.
REMOTE_DOMAINS = {"dave": "fedi.example"}
# The stand-in's notification kinds (sandbox/notify.py) as Mastodon names them.
NOTIFICATION_TYPES = {"reply": "mention", "favourite": "favourite", "reblog": "reblog"}
SAMPLE_ACCOUNTS = 8  # the most accounts a notification group names
PARTIAL_ACCOUNT_KEYS = ("id", "acct", "locked", "bot", "url", "avatar", "avatar_static")


@dataclass
class Scheduled:
    """A status waiting for its time, with the params Mastodon echoes back."""

    id: str
    author: str
    scheduled_at: datetime
    params: dict[str, Any]
    created: float = field(default_factory=time.time)


def _iso(value: datetime | None) -> str | None:
    return iso_millis(value) if value is not None else None


class MastodonViews(StandIn):
    """Renders the stand-in's accounts and items as Mastodon 4.4's REST API entities."""

    version: ClassVar[str] = "4.4.0"
    # The server's limits as instance_v2 reports them (tests change them per instance).
    max_characters: int = MAX_CHARACTERS
    url_reserved: int = URL_RESERVED

    def handle_for(self, key: str) -> str:
        return "ada" if key == "author" else key

    def visible(self, item: Item | None, viewer: str | None) -> bool:
        if item is None or item.deleted:
            return False
        if item.visibility in ("public", "unlisted"):
            return True
        return viewer is not None  # the signed-in viewer follows / is mentioned by everyone here

    def account_json(self, key: str) -> dict[str, Any]:
        account = self.accounts[key]
        posts = self.posts_by(key)
        domain = REMOTE_DOMAINS.get(key)
        origin = f"https://{domain}" if domain else self.base_url
        avatar = account.avatar or f"{origin}/avatars/{account.handle}.png"
        return {
            "id": account.id,
            "username": account.handle,
            "acct": f"{account.handle}@{domain}" if domain else account.handle,
            "display_name": account.name,
            "locked": False,
            "bot": False,
            "discoverable": True,
            "indexable": True,
            "group": False,
            "created_at": "2024-01-01T00:00:00.000Z",
            "note": "",
            "url": f"{origin}/@{account.handle}",
            "uri": f"{origin}/users/{account.handle}",
            "avatar": avatar,
            "avatar_static": avatar,
            "header": f"{origin}/headers/original/missing.png",
            "header_static": f"{origin}/headers/original/missing.png",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": len(posts),
            "last_status_at": f"{posts[-1].created_at:%Y-%m-%d}" if posts else None,
            "hide_collections": False,
            "noindex": False,
            "emojis": [],
            "roles": [],
            "fields": [],
        }

    def render_html(self, text: str) -> str:
        """Status HTML as Mastodon formats plain text, mentions of local accounts linked."""

        def mention_url(handle: str) -> str | None:
            account = next((a for a in self.accounts.values() if a.handle == handle), None)
            return self.account_json(account.key)["url"] if account else None

        return render_text(text, mention_url)

    def status_json(self, item: Item, viewer: str | None = None) -> dict[str, Any]:
        account = self.accounts[item.author]
        parent = self.items.get(item.parent_id) if item.parent_id else None
        # A status from another server keeps the url and uri its home server gave it, with
        # that server's own id (as recorded: only "id" is this server's).
        domain = REMOTE_DOMAINS.get(item.author)
        origin = f"https://{domain}" if domain else self.base_url
        home_id = str(int(item.id) - 1_000_000) if domain and item.id.isdigit() else item.id
        status: dict[str, Any] = {
            "id": item.id,
            "created_at": _iso(item.created_at),
            "edited_at": _iso(item.edited_at),
            "in_reply_to_id": item.parent_id,
            "in_reply_to_account_id": self.accounts[parent.author].id if parent else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": item.visibility,
            "language": "en",
            "uri": f"{origin}/users/{account.handle}/statuses/{home_id}",
            "url": f"{origin}/@{account.handle}/{home_id}",
            "replies_count": len(self.children(item.id)),
            "reblogs_count": len(item.reposted_by),
            "favourites_count": len(item.liked_by),
            "quotes_count": 0,
            "favourited": viewer in item.liked_by,
            "reblogged": viewer in item.reposted_by,
            "muted": False,
            "bookmarked": False,
            "pinned": False,
            "content": item.html if item.html is not None else self.render_html(item.text),
            "filtered": [],
            "reblog": None,
            "quote": None,
            "application": {"name": "Web", "website": None},
            "account": self.account_json(item.author),
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }
        if viewer is None:  # what only a signed-in reader is told (as the recording shows)
            for name in VIEWER_FIELDS:
                del status[name]
        return status

    def grouped_notifications_json(
        self, groups: list[tuple[str, list[Event]]], expand: str = "partial_avatars"
    ) -> dict[str, Any]:
        """A page of ``GET /api/v2/notifications`` (groups and their events newest first), as
        recorded: ``accounts`` (with ``expand=partial_avatars`` only each group's latest
        account in full, the others in ``partial_accounts``), ``statuses`` and
        ``notification_groups``; ``most_recent_notification_id`` is a number, the page ids
        are strings."""
        accounts: dict[str, None] = {}
        partial: dict[str, None] = {}
        statuses: dict[str, None] = {}
        rendered = []
        for key, events in groups:
            newest, oldest = events[0], events[-1]
            actors = list(dict.fromkeys(e.actor for e in events))[:SAMPLE_ACCOUNTS]
            accounts.setdefault(actors[0])
            for actor in actors[1:]:
                (partial if expand == "partial_avatars" else accounts).setdefault(actor)
            statuses.setdefault(newest.item_id)
            rendered.append(
                {
                    "group_key": key,
                    "notifications_count": len(events),
                    "type": NOTIFICATION_TYPES[newest.kind],
                    "most_recent_notification_id": newest.id,
                    "page_min_id": str(oldest.id),
                    "page_max_id": str(newest.id),
                    "latest_page_notification_at": iso_millis(newest.at),
                    "sample_account_ids": [self.accounts[a].id for a in actors],
                    "status_id": newest.item_id,
                }
            )
        body: dict[str, Any] = {"accounts": [self.account_json(a) for a in accounts]}
        if expand == "partial_avatars":
            body["partial_accounts"] = [
                self.partial_account_json(a) for a in partial if a not in accounts
            ]
        body["statuses"] = [self.status_json(self.items[i], "author") for i in statuses]
        body["notification_groups"] = rendered
        return body

    def partial_account_json(self, key: str) -> dict[str, Any]:
        """An account as ``partial_accounts`` lists it (the recorded keys)."""
        full = self.account_json(key)
        return {**{k: full[k] for k in PARTIAL_ACCOUNT_KEYS}, "avatar_description": ""}

    def scheduled_json(self, scheduled: Scheduled) -> dict[str, Any]:
        return {
            "id": scheduled.id,
            "scheduled_at": _iso(scheduled.scheduled_at),
            "params": dict(scheduled.params),
            "media_attachments": [],
        }

    def instance_configuration(self, api_version: int = 2) -> dict[str, Any]:
        """The ``configuration`` block, as recorded from Mastodon 4.6 (v1 carries a subset)."""
        limits = {
            "image_size_limit": 16777216,
            "image_matrix_limit": 33177600,
            "video_size_limit": 103809024,
            "video_frame_rate_limit": 120,
            "video_matrix_limit": 8294400,
        }
        common: dict[str, Any] = {
            "statuses": {
                "max_characters": self.max_characters,
                "max_media_attachments": 4,
                "characters_reserved_per_url": self.url_reserved,
            },
            "media_attachments": {"supported_mime_types": ["image/png"], **limits},
            "polls": {
                "max_options": 4,
                "max_characters_per_option": 50,
                "min_expiration": 300,
                "max_expiration": 2629746,
            },
        }
        if api_version == 1:
            return {"accounts": {"max_featured_tags": 10}, **common}
        public = {"local": "public", "remote": "public"}
        common["media_attachments"] = {"description_limit": 10000, **common["media_attachments"]}
        return {
            "urls": {
                "streaming": self.base_url.replace("http", "ws", 1),
                "status": None,
                "about": f"{self.base_url}/about",
                "privacy_policy": f"{self.base_url}/privacy-policy",
                "terms_of_service": None,
            },
            "vapid": {"public_key": "BAhxXyHfAoMqrZECjRI56F5QrE4ynVlkZFMdKSpTIsWRNoWUVgut"},
            "accounts": {
                "max_display_name_length": 40,
                "max_note_length": 500,
                "max_avatar_description_length": 150,
                "max_header_description_length": 150,
                "max_featured_tags": 10,
                "max_pinned_statuses": 5,
                "max_profile_fields": 4,
                "profile_field_name_limit": 255,
                "profile_field_value_limit": 255,
            },
            **common,
            "translation": {"enabled": False},
            "timelines_access": {
                "live_feeds": public,
                "hashtag_feeds": public,
                "trending_link_feeds": public,
            },
            "limited_federation": False,
        }

    def instance_json(self, api_version: int) -> dict[str, Any]:
        """``/api/v2/instance`` (``api_version=2``) or the older ``/api/v1/instance``,
        with every field the recorded answers of Mastodon 4.6 carry."""
        host = self.base_url.split("://", 1)[1]
        thumbnail = f"{self.base_url}/thumbnail.png"
        common = {
            "title": "Mastodon stand-in",
            "version": self.version,
            "languages": ["en"],
            "configuration": self.instance_configuration(api_version),
            "rules": [],
        }
        if api_version == 2:
            return {
                "domain": host,
                "source_url": "https://github.com/mastodon/mastodon",
                "description": "A local stand-in for tests",
                "usage": {"users": {"active_month": len(self.accounts)}},
                "thumbnail": {"url": thumbnail, "description": "The stand-in's preview"},
                "icon": [{"src": f"{self.base_url}/icon-36x36.png", "size": "36x36"}],
                "registrations": {
                    "enabled": False,
                    "approval_required": False,
                    "reason_required": False,
                    "message": None,
                    "min_age": None,
                    "url": None,
                },
                "api_versions": {"mastodon": 6},
                "wrapstodon": None,
                "contact": {"email": "admin@example.invalid", "account": None},
                **common,
            }
        return {
            "uri": host,
            "short_description": "A local stand-in for tests",
            "description": "",
            "email": "admin@example.invalid",
            "urls": {"streaming_api": self.base_url.replace("http", "ws", 1)},
            "stats": {
                "user_count": len(self.accounts),
                "status_count": len(self.items),
                "domain_count": 1 + len(set(REMOTE_DOMAINS.values())),
            },
            "thumbnail": thumbnail,
            "registrations": False,
            "approval_required": False,
            "invites_enabled": False,
            "contact_account": None,
            **common,
        }
