"""Which tweets of a recent-search answer are replies to a post, and what each answers.

Real conversation searches (tweepy's and X's own recordings, see
tests/recordings/x) often name a parent that is not among the results: it is
only in ``includes.tweets`` (asked with ``expansions=referenced_tweets.id``:
older than the seven-day window, or on another page), or nowhere at all
(deleted, protected, suspended: the answer's ``errors`` say so). A reply to such
a parent must not be filed under a comment the site never stores, or it
disappears with its whole subtree. So:

* a conversation tweet found only in ``includes.tweets`` is a comment like any
  other (we have its text, author and parent);
* a reply whose parent is unknown hangs under the post itself (the root of
  the conversation), the nearest ancestor we know; under a follow-up in the
  middle of a thread the same reply cannot be placed and is left out;
* a parent must be older than its reply (snowflake ids grow with time), so a
  hostile answer cannot hide replies in a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Tweet = dict[str, Any]


def stable_id(tweet: Mapping[str, Any]) -> str:
    """The first id of an edited tweet: it survives edits, the current id does not."""
    versions = tweet.get("edit_history_tweet_ids") or []
    return str(versions[0] if versions else tweet["id"])


def replied_to(tweet: Mapping[str, Any]) -> str | None:
    for ref in tweet.get("referenced_tweets") or []:
        if isinstance(ref, Mapping) and ref.get("type") == "replied_to" and ref.get("id"):
            return str(ref["id"])
    return None


def _older(parent: str, child: str) -> bool:
    try:
        return int(parent) < int(child)
    except ValueError:
        return True  # not snowflakes: nothing to compare


def replies_under(
    post_id: str,
    conversation: str,
    tweets: Iterable[Tweet],
    included: Iterable[Tweet] = (),
    *,
    whole_conversation: bool,
) -> list[Tweet]:
    """The tweets under ``post_id``, each a copy with ``_parent``: ``post_id`` or a listed id.

    ``tweets`` are the search results (``data``), ``included`` the answer's
    ``includes.tweets``. With ``whole_conversation`` (the post starts the
    conversation) every reply of the conversation is kept; otherwise only what
    hangs below ``post_id`` through known parents.
    """
    pool = [t for t in tweets if isinstance(t, Mapping) and t.get("id")]
    pool += [t for t in included if isinstance(t, Mapping) and t.get("id")]
    stable = {str(v): stable_id(t) for t in pool for v in t.get("edit_history_tweet_ids") or []}
    known: dict[str, Tweet] = {}
    for tweet in pool:  # search results first: they win over an included copy
        tweet_id = stable_id(tweet)
        in_conversation = str(tweet.get("conversation_id") or conversation) == conversation
        if tweet_id == post_id or tweet_id in known or not in_conversation:
            continue
        if replied_to(tweet) is None:
            continue  # the conversation's first tweet (above a follow-up), or a quoted one
        known[tweet_id] = dict(tweet)
    for tweet_id, tweet in known.items():
        named = replied_to(tweet) or post_id
        parent = stable.get(named, named)
        if parent != post_id and (parent not in known or not _older(parent, tweet_id)):
            parent = post_id if whole_conversation else ""  # unknown: the nearest we know
        tweet["_parent"] = parent
    children: dict[str, list[Tweet]] = {}
    for tweet in known.values():
        children.setdefault(tweet["_parent"], []).append(tweet)
    chosen: list[Tweet] = []
    queue = [post_id]
    while queue:
        for child in children.get(queue.pop(), []):
            chosen.append(child)
            queue.append(stable_id(child))
    return sorted(chosen, key=lambda t: _sort_key(str(t["id"])))


def _sort_key(tweet_id: str) -> tuple[int, str]:
    return (int(tweet_id), "") if tweet_id.isdigit() else (0, tweet_id)
