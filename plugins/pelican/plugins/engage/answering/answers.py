"""Answer everyone: the inbox, replies sent into the right thread, and the response rate.

A comment is *waiting* when it is someone else's public reply, still on the
site (not removed, not moderated), and has no direct answer from the author.
An answer sent with `engage reply` is recorded as pending before it is sent
and as the author's own comment right after, so it leaves the inbox at once
and a later sync recognises it instead of adding it twice.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..backfeed.merge import comment_id, iso
from ..backfeed.sanitize import excerpt
from ..errors import ConfigError, EngageError, NotFound, Unsupported
from ..model import now_iso
from ..networks import build_adapters, network_label
from ..networks.base import Adapter, OutgoingPost, RemoteRef
from ..settings import EngageSettings
from ..store import Store
from .context import UnknownComment, clean, comment_row, when

__all__ = ["UnknownComment", "comment_row"]  # the commands reach them through here

HOW_TO_ANSWER = {
    "webmention": (
        "a webmention cannot be answered from here: reply on your own site with a post "
        "linking to {url}, and publishing it sends a webmention back"
    ),
    "feed": "the comment feed is read-only: answer where the comment was written, at {url}",
}


@dataclass(frozen=True)
class Waiting:
    id: str
    ref: int  # the short, stable number people type: `engage reply 41`
    network: str
    article: str
    author: str
    text: str
    url: str
    created_at: datetime
    age_seconds: int

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "created_at": self.created_at.isoformat()}


def inbox(store: Store, now: datetime | None = None) -> list[Waiting]:
    """Every comment waiting for an answer, oldest first.

    Waiting: someone else's visible reply with no direct answer by the author.
    """
    now = now or datetime.now(UTC)
    waiting = []
    for row in store.comments.waiting():
        created = when(row["created_at"])
        waiting.append(
            Waiting(
                id=row["id"],
                ref=row["ref"],
                network=row["network"],
                article=row["article"],
                author=clean(row["author_name"] or row["author_handle"]),
                text=clean(excerpt(row["html"], 280)),
                url=row["url"],
                created_at=created,
                age_seconds=max(0, int((now - created).total_seconds())),
            )
        )
    return waiting


def overdue(store: Store, within: timedelta, now: datetime | None = None) -> list[Waiting]:
    """Waiting comments older than ``within`` (ENGAGE_ANSWER_WITHIN)."""
    return [w for w in inbox(store, now) if w.age_seconds > within.total_seconds()]


# -- replying ---------------------------------------------------------------------------


@contextmanager
def adapter_for(settings: EngageSettings, store: Store, network: str) -> Iterator[Adapter]:
    """The adapter of ``network`` as configured, closed after use."""
    if network not in settings.networks:
        raise ConfigError(
            f"{network} is not in ENGAGE_NETWORKS, so its comments cannot be answered or liked"
        )
    adapters = build_adapters(
        settings.networks, state_dir=settings.state_dir, meter=store, names=[network]
    )
    try:
        yield adapters[network]
    finally:
        adapters[network].close()


def answer_key(cid: str, text: str) -> str:
    return "engage-answer-" + hashlib.sha256(f"{cid}|{text.strip()}".encode()).hexdigest()[:32]


@dataclass
class Sent:
    ref: RemoteRef
    already: bool = False  # this very answer had been sent before


def reply(store: Store, adapter: Adapter, cid: str, text: str, *, author: str = "") -> Sent:
    """Post ``text`` as an answer to comment ``cid`` (a ref or a full id) in its own
    remote thread, once."""
    text = text.strip()
    if not text:
        raise EngageError("the answer is empty; nothing was sent")
    row = comment_row(store, cid)
    cid, network = row["id"], row["network"]
    if network in HOW_TO_ANSWER:
        raise Unsupported(network, HOW_TO_ANSWER[network].format(url=row["url"]))
    key = answer_key(cid, text)
    existing = store.answers.get(key)
    if existing is not None and existing["state"] == "posted":
        ref = RemoteRef(network, existing["remote_id"], existing["remote_url"] or "")
        return Sent(ref, already=True)
    # Whole seconds, as stored: a retry must derive the same record key (Bluesky) from it.
    created = when(existing["created_at"]) if existing else datetime.now(UTC).replace(microsecond=0)
    if existing is None:  # committed before sending: a retry looks for it on the network
        store.answers.add_pending(
            comment_id=cid, network=network, text=text, key=key, created_at=iso(created)
        )
    target = RemoteRef(
        network, row["remote_id"], row["url"], json.loads(row["remote_extra"] or "{}")
    )
    if existing is not None:  # an earlier attempt may have landed before it was recorded
        post = OutgoingPost(text=text, idempotency_key=key, reply_to=target, created_at=created)
        found = adapter.find_published(post)
        if found is not None:
            _record(store, row, key, text, found, author)
            return Sent(found)
    try:
        ref = adapter.reply(target, text, key, created_at=created)
    except NotFound:
        raise EngageError(
            f"the comment {cid} is gone from {network_label(network)}; nothing was sent"
        ) from None
    _record(store, row, key, text, ref, author)
    return Sent(ref)


def _record(
    store: Store, parent: Mapping[str, Any], key: str, text: str, ref: RemoteRef, author: str
) -> None:
    """The answer, as posted and as the author's own comment under ``parent``: together."""
    now = now_iso()
    with store.transaction():
        store.answers.mark_posted(key, remote_id=ref.id, remote_url=ref.url, posted_at=now)
        store.comments.add_answer(
            cid=comment_id(parent["network"], ref.id),
            network=parent["network"],
            remote_id=ref.id,
            article=parent["article"],
            parent_id=parent["id"],
            author_name=author or "You",
            html="<p>" + html.escape(text).replace("\n", "<br>") + "</p>",
            url=ref.url or parent["url"],
            created_at=now,
            remote_extra=json.dumps(dict(ref.extra)),
        )


# -- the response rate ----------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile: the smallest value with ``share`` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Rate:
    """How many comments by others got an answer, and how many got any acknowledgement.

    *Answered*: a direct answer from you. *Acknowledged*: answered, liked, or
    marked done (it needs no answer). The answered rate leaves out the comments
    marked done without an answer: they needed none.
    """

    comments: int = 0
    answered: int = 0
    liked: int = 0
    done: int = 0  # marked as needing no answer, and not answered
    acknowledged: int = 0
    delays: list[float] = field(default_factory=list)  # seconds to the first answer

    @property
    def response_rate(self) -> float | None:
        """The answered rate: answered / comments that needed an answer."""
        needing = self.comments - self.done
        return self.answered / needing if needing else None

    @property
    def acknowledged_rate(self) -> float | None:
        return self.acknowledged / self.comments if self.comments else None

    def count(
        self, answered_at: datetime | None, created: datetime, liked: bool, done: bool
    ) -> None:
        self.comments += 1
        self.liked += liked
        self.done += done and answered_at is None
        self.acknowledged += answered_at is not None or liked or done
        if answered_at is not None:
            self.answered += 1
            self.delays.append(max(0.0, (answered_at - created).total_seconds()))

    def as_json(self) -> dict[str, Any]:
        def rounded(rate: float | None) -> float | None:
            return None if rate is None else round(rate, 4)

        return {
            "comments": self.comments,
            "answered": self.answered,
            "response_rate": rounded(self.response_rate),
            "answered_rate": rounded(self.response_rate),
            "liked": self.liked,
            "done": self.done,
            "acknowledged": self.acknowledged,
            "acknowledged_rate": rounded(self.acknowledged_rate),
            "median_seconds": _percentile(self.delays, 0.5),
            "p90_seconds": _percentile(self.delays, 0.9),
        }


@dataclass
class Stats:
    since: datetime
    until: datetime
    networks: dict[str, Rate]
    overall: Rate

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "networks": {name: rate.as_json() for name, rate in sorted(self.networks.items())},
            "overall": self.overall.as_json(),
        }


def first_answers(store: Store) -> Iterable[tuple[Mapping[str, Any], datetime | None]]:
    """Each visible comment by someone else with the time of the author's first answer."""
    for row in store.comments.with_first_answer():
        yield row, when(row["answered_at"]) if row["answered_at"] else None


def stats(store: Store, since: datetime, until: datetime | None = None) -> Stats:
    """Answered and acknowledged rates and time to first answer, for comments written
    in [since, until)."""
    until = until or datetime.now(UTC)
    networks: dict[str, Rate] = {}
    overall = Rate()
    for row, answered_at in first_answers(store):
        created = when(row["created_at"])
        if not since <= created < until:
            continue
        for rate in (networks.setdefault(row["network"], Rate()), overall):
            rate.count(answered_at, created, bool(row["liked"]), bool(row["done"]))
    return Stats(since, until, networks, overall)
