"""The X stand-in's JSON: tweets, users, ``{"data", "includes", "errors", "meta"}``
envelopes and error answers, shaped like the recorded answers in tests/recordings/x."""

from __future__ import annotations

import hashlib
import html
import re
from typing import Any

from .base import Item, Request, Response, StandIn, iso_millis, plain_urls

SNOWFLAKE_EPOCH_MS = 1288834974657
RATE_LIMIT = 300
RATE_LIMITED_BODY = "Rate limit exceeded\n"  # X's 429 body (text/plain), as recorded
NOT_ENROLLED = {
    "client_id": "28251539",
    "detail": (
        "When authenticating requests to the Twitter API v2 endpoints, you must use keys and "
        "tokens from a Twitter developer App that is attached to a Project. You can create a "
        "project via the developer portal."
    ),
    "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
    "title": "Client Forbidden",
    "required_enrollment": "Appropriate Level of API Access",
    "reason": "client-not-enrolled",
    "type": "https://api.twitter.com/2/problems/client-forbidden",
}
_STATUS_TITLES = {
    400: "Invalid Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def fields_of(request: Request, name: str) -> set[str]:
    return {f for f in (request.arg(name) or "").split(",") if f}


def _tco(url: str) -> str:
    return "https://t.co/" + hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()[:10]


class XViews(StandIn):
    """Renders the stand-in's items and accounts as X API v2 answers."""

    def current_id(self, item: Item) -> str:
        versions = item.extra.get("versions") or []
        return str(versions[-1]) if versions else item.id

    # -- errors --------------------------------------------------------------------------
    def rate_limited(self, retry_after: float) -> Response:
        response = Response(429, RATE_LIMITED_BODY, content_type="text/plain;charset=utf-8")
        response.headers.update(
            {
                "x-rate-limit-limit": str(RATE_LIMIT),
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": self.reset_epoch(retry_after),
            }
        )
        return response

    def error(self, status: int, message: str) -> Response:
        title = _STATUS_TITLES.get(status, "Error")
        body = {"title": title, "detail": message, "type": "about:blank", "status": status}
        return Response(status, body, content_type="application/problem+json")

    def _invalid(self, message: str, parameter: str, value: str | None = None) -> Response:
        body = {
            "errors": [{"parameters": {parameter: [value] if value else []}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }
        return Response(400, body)

    @staticmethod
    def _not_found(tweet_id: str, parameter: str = "id") -> dict[str, Any]:
        return {
            "value": tweet_id,
            "detail": f"Could not find tweet with {parameter}: [{tweet_id}].",
            "title": "Not Found Error",
            "resource_type": "tweet",
            "parameter": parameter,
            "resource_id": tweet_id,
            "type": "https://api.twitter.com/2/problems/resource-not-found",
        }

    # -- rendering ---------------------------------------------------------------------------
    def display(self, text: str) -> tuple[str, list[dict[str, Any]]]:
        """Text as X returns it (t.co links, &amp; escapes) and its ``entities.urls``."""
        out, urls, position, length = [], [], 0, 0
        for start, url in plain_urls(text):
            plain = html.escape(text[position:start], quote=False)
            out.append(plain)
            length += len(plain)
            short = _tco(url)
            display = re.sub(r"^https?://", "", url)
            urls.append(
                {
                    "start": length,
                    "end": length + len(short),
                    "url": short,
                    "expanded_url": url,
                    "display_url": display if len(display) <= 26 else display[:25] + "…",
                }
            )
            out.append(short)
            length += len(short)
            position = start + len(url)
        out.append(html.escape(text[position:], quote=False))
        return "".join(out), urls

    def render_tweet(self, item: Item, fields: set[str]) -> dict[str, Any]:
        text, urls = self.display(item.text)
        versions = [item.id, *item.extra.get("versions", [])]
        data: dict[str, Any] = {
            "id": versions[-1],
            "text": text,
            "edit_history_tweet_ids": versions,
        }
        parent = self.items.get(item.parent_id) if item.parent_id else None
        if "created_at" in fields:
            data["created_at"] = iso_millis(
                item.edited_at if len(versions) > 1 and item.edited_at else item.created_at
            )
        if "author_id" in fields:
            data["author_id"] = self.accounts[item.author].id
        if "conversation_id" in fields:
            data["conversation_id"] = item.root_id or item.id
        if parent is not None and "in_reply_to_user_id" in fields:
            data["in_reply_to_user_id"] = self.accounts[parent.author].id
        if parent is not None and "referenced_tweets" in fields:
            replied = item.extra.get("replied_to") or parent.id
            data["referenced_tweets"] = [{"type": "replied_to", "id": replied}]
        if "public_metrics" in fields:
            data["public_metrics"] = {
                "retweet_count": len(item.reposted_by),
                "reply_count": len(self.children(item.id)),
                "like_count": len(item.liked_by),
                "quote_count": int(item.extra.get("quotes", 0)),
            }
        if "entities" in fields and urls:
            data["entities"] = {"urls": urls}
        return data

    def render_user(self, key: str, fields: set[str]) -> dict[str, Any]:
        account = self.accounts[key]
        data: dict[str, Any] = {"id": account.id, "name": account.name, "username": account.handle}
        if "profile_image_url" in fields:
            data["profile_image_url"] = account.avatar or (
                f"{self.base_url}/avatars/{account.handle}_normal.png"
            )
        if "protected" in fields:
            data["protected"] = False
        return data

    def envelope(self, request: Request, items: list[Item], **meta: Any) -> dict[str, Any]:
        """``{"data", "includes", "meta"}`` for a list of tweets, with the asked expansions."""
        fields = fields_of(request, "tweet.fields")
        expansions = fields_of(request, "expansions")
        body: dict[str, Any] = {}
        if items:
            body["data"] = [self.render_tweet(i, fields) for i in items]
        includes: dict[str, Any] = {}
        if "author_id" in expansions and items:
            user_fields = fields_of(request, "user.fields")
            keys = list(dict.fromkeys(i.author for i in items))
            includes["users"] = [self.render_user(k, user_fields) for k in keys]
        errors: list[dict[str, Any]] = []
        if "referenced_tweets.id" in expansions:
            parents, errors = self._referenced(items)
            if parents:
                includes["tweets"] = [self.render_tweet(p, fields) for p in parents]
            if parents and "referenced_tweets.id.author_id" in expansions:
                known = {u["id"] for u in includes.get("users", [])}
                user_fields = fields_of(request, "user.fields")
                for key in dict.fromkeys(p.author for p in parents):
                    if self.accounts[key].id not in known:
                        includes.setdefault("users", []).append(self.render_user(key, user_fields))
        if includes:
            body["includes"] = includes
        if errors:
            body["errors"] = errors
        if items:
            meta = {
                "newest_id": self.current_id(items[0]),
                "oldest_id": self.current_id(items[-1]),
                **meta,
            }
        body["meta"] = {"result_count": len(items), **meta}
        return body

    def _referenced(self, items: list[Item]) -> tuple[list[Item], list[dict[str, Any]]]:
        """The parents ``includes.tweets`` carries, and ``errors`` for those it cannot show."""
        parents: dict[str, Item] = {}
        errors: dict[str, dict[str, Any]] = {}
        for item in items:
            parent = self.items.get(item.parent_id) if item.parent_id else None
            if parent is None:
                continue
            shown = str(item.extra.get("replied_to") or parent.id)
            if parent.deleted:
                errors[shown] = self._not_found(shown, "referenced_tweets.id")
            elif parent.visibility != "public":
                errors[shown] = {
                    "resource_id": shown,
                    "parameter": "referenced_tweets.id",
                    "resource_type": "tweet",
                    "section": "includes",
                    "title": "Authorization Error",
                    "value": shown,
                    "detail": "Sorry, you are not authorized to see the Tweet with "
                    f"referenced_tweets.id: [{shown}].",
                    "type": "https://api.twitter.com/2/problems/not-authorized-for-resource",
                }
            else:
                parents[parent.id] = parent
        return list(parents.values()), list(errors.values())
