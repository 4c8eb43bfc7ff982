"""The one small interface every network adapter implements.

An adapter turns the network's client library into five verbs: ``measure`` a
text the way the network counts it, ``publish`` a post (optionally as a reply,
always under an idempotency key), ``find_published`` (the ledger's recovery
lookup after a crash), ``fetch_thread`` (the whole reply tree with counts) and
``reply`` to a remote item. Library exceptions are mapped onto
:mod:`pelican.plugins.engage.errors` so callers never import a network SDK.

Adapters never import Pelican and never sleep for minutes: a rate limit is
raised as :class:`~pelican.plugins.engage.errors.RateLimited` with the time to
retry, and the caller decides.
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, Self, TypeVar, overload

from ..errors import AuthFailed, BudgetExceeded, ConfigError, Unsupported
from ..http_client import Closing
from ..model import Author, Counts, OutgoingPost, RemoteComment, RemoteRef, ThreadSnapshot
from . import registry
from .registry import NetworkSpec

if TYPE_CHECKING:
    from .notices import Changes

# The plain data types live in ..model (the ledger, merge and answers use them too);
# they stay importable from here, where every adapter has always found them.
__all__ = [
    "DEFAULT_TIMEOUT",
    "URL_RE",
    "Adapter",
    "AdapterContext",
    "Author",
    "CodePoints",
    "Counts",
    "MemoryMeter",
    "OutgoingPost",
    "RemoteComment",
    "RemoteRef",
    "ThreadSnapshot",
    "UsageMeter",
    "parse_time",
    "replies_only",
]

DEFAULT_TIMEOUT = 15.0

# A URL as the networks see one in a text: scheme, then anything up to white space.
URL_RE = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


class UsageMeter(Protocol):
    """Counts billable calls per network and day (X charges per post and per read)."""

    def spend(self, network: str, kind: str, limit: int | None) -> None:
        """Record one call of ``kind``; raise BudgetExceeded if today's ``limit`` is reached."""


class MemoryMeter:
    """A UsageMeter that forgets at exit; the store provides the persistent one."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, date], int] = {}
        self._lock = threading.Lock()

    def spend(self, network: str, kind: str, limit: int | None) -> None:
        key = (network, kind, datetime.now(UTC).date())
        with self._lock:
            used = self._counts.get(key, 0)
            if limit is not None and used >= limit:
                raise BudgetExceeded(
                    network,
                    f"daily limit of {limit} {kind} calls reached; raise max_{kind}_per_day",
                )
            self._counts[key] = used + 1

    def used(self, network: str, kind: str) -> int:
        return self._counts.get((network, kind, datetime.now(UTC).date()), 0)


@dataclass
class AdapterContext:
    """What an adapter may use besides its options: credentials, a meter, a private dir."""

    env: Mapping[str, str]
    meter: UsageMeter = field(default_factory=MemoryMeter)
    # Where secrets such as a Bluesky session may be kept (never the database).
    state_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "pelican-engage")
    # The site's folder (beside pelicanconf.py): where relative `file:` URLs point.
    site_dir: Path | None = None

    def credential(self, network: str, *names: str) -> list[str]:
        """The named environment variables, or AuthFailed naming the missing ones."""
        missing = [n for n in names if not self.env.get(n)]
        if missing:
            raise AuthFailed(network, f"set {' and '.join(missing)} in the environment")
        return [self.env[n] for n in names]


T = TypeVar("T")


class _FromSpec(Generic[T]):
    """A read-only adapter attribute that the network's registry entry declares."""

    def __init__(self, read: Callable[[NetworkSpec], T]) -> None:
        self._read = read

    @overload
    def __get__(self, adapter: None, owner: type) -> Self: ...
    @overload
    def __get__(self, adapter: Adapter, owner: type) -> T: ...
    def __get__(self, adapter: Adapter | None, owner: type) -> T | Self:
        return self if adapter is None else self._read(adapter.spec)


class Adapter(Closing, ABC):
    """Base of every network adapter."""

    name: ClassVar[str]  # the key in networks.registry.NETWORKS, which declares the rest
    default_base_url: ClassVar[str] = ""
    label = _FromSpec(lambda spec: spec.label)
    can_publish = _FromSpec(lambda spec: spec.can_publish)
    can_reply = _FromSpec(lambda spec: spec.can_reply)
    can_schedule = _FromSpec(lambda spec: spec.schedules_natively)
    # The account's own id where replies are told apart by it, kept by a notification cursor.
    _me_id: str | None = None

    @property
    def spec(self) -> NetworkSpec:
        return registry.spec(self.name)

    def __init__(self, options: Mapping[str, Any], ctx: AdapterContext) -> None:
        self.options = dict(options)
        self.ctx = ctx
        self.base_url = str(self.options.get("base_url") or self.default_base_url).rstrip("/")
        if not self.base_url:
            raise ConfigError(f"ENGAGE_NETWORKS[{self.name!r}] needs a base_url")
        try:
            self.timeout = float(self.options.get("timeout", DEFAULT_TIMEOUT))
        except (TypeError, ValueError):
            raise ConfigError(
                f"ENGAGE_NETWORKS[{self.name!r}]['timeout'] must be a number of seconds"
            ) from None
        # Requests answered so far (every status): what a sync reports it spent.
        self.requests_made = 0
        self._answers_lock = threading.Lock()

    # -- text ---------------------------------------------------------------
    @abstractmethod
    def max_length(self) -> int:
        """The longest text a post may have, in this network's own measure."""

    @abstractmethod
    def measure(self, text: str) -> int:
        """The length of ``text`` as this network counts it."""

    # -- writing ------------------------------------------------------------
    def publish(self, post: OutgoingPost) -> RemoteRef:
        raise Unsupported(self.name, "this network does not take posts")

    def find_published(self, post: OutgoingPost) -> RemoteRef | None:
        """Look for ``post`` among the account's recent posts (crash recovery).

        Networks with a server-side idempotency mechanism return None: retrying
        the publish with the same key is the recovery.
        """
        return None

    def reply(
        self, to: RemoteRef, text: str, idempotency_key: str, created_at: datetime | None = None
    ) -> RemoteRef:
        """Answer a remote item (a comment or a post) in its own thread."""
        if not self.can_reply:
            raise Unsupported(self.name, "this network does not take replies")
        post = OutgoingPost(
            text=text, idempotency_key=idempotency_key, reply_to=to, created_at=created_at
        )
        return self.publish(post)

    def like(self, ref: RemoteRef) -> str:
        """Like (favourite) the remote item ``ref`` as the account; liking it again is harmless.

        Returns the like's own id where the network makes one (a Bluesky like
        record), else an empty string.
        """
        raise Unsupported(self.name, f"{self.label} has no likes that engage can send")

    # -- reading ------------------------------------------------------------
    def rate_budget(self) -> tuple[int, float] | None:
        """(requests left, seconds until the window resets) from the last answer's headers.

        None when the network has not told us (yet); the sync engine then relies on
        handling the 429 itself.
        """
        return None

    @abstractmethod
    def fetch_thread(self, post: RemoteRef, cursor: str | None = None) -> ThreadSnapshot:
        """The conversation under ``post``; ``cursor`` asks for what is new only."""

    # -- notifications (networks/notices.py) ---------------------------------------
    @property
    def notifications(self) -> bool:
        """Whether to ask the network what changed (option ``notifications``, default on)."""
        return bool(self.options.get("notifications", True))

    def changes(self, cursor: str | None, watched: Sequence[RemoteRef]) -> Changes | None:
        """What changed since ``cursor``, from one cheap request (more only when busy).

        ``watched`` are the conversations the caller follows (some networks need
        their addresses). ``cursor`` None starts a baseline. None: this network
        has no such feed; every conversation is then read on the decaying schedule.
        """
        return None

    def fetch_changed(self, post: RemoteRef, cursor: str | None = None) -> ThreadSnapshot:
        """The conversation under ``post`` after a notification named it: the cheapest read
        that brings its replies (it may leave the like and repost figures out)."""
        return self.fetch_thread(post, cursor)

    def my_id(self) -> str:
        """The account's own id: as the notification cursor kept it, else asked of the network."""
        return self._me_id or self._account_id()

    def _account_id(self) -> str:
        raise Unsupported(self.name, f"{self.label} has no account id that engage reads")

    def _notice_state(self, cursor: str | None) -> tuple[dict[str, Any], str]:
        """What a notification cursor keeps, and the account's id: kept there too (else asked
        once), and answered by :meth:`my_id` from then on."""
        from .notices import load_cursor  # notices builds on this module

        state = load_cursor(cursor)
        self._me_id = str(state.get("me") or self._account_id())
        return state, self._me_id

    def _answered(self) -> None:
        """Count one answered request (adapters call it from their HTTP client's hook)."""
        with self._answers_lock:
            self.requests_made += 1


class CodePoints:
    """``measure`` and ``max_length`` for a network that counts code points (``len``).

    Mixed in before the adapter's base class; the adapter sets ``_max_length`` from its
    ``max_length`` option.
    """

    _max_length: int

    def max_length(self) -> int:
        return self._max_length

    def measure(self, text: str) -> int:
        return len(text)


def replies_only(
    post: RemoteRef, comments: list[RemoteComment], *, complete: bool, cursor: str | None = None
) -> ThreadSnapshot:
    """What a light read brought: the replies and their number; the like and repost figures
    it did not ask for stay as stored."""
    return ThreadSnapshot(
        post=post,
        counts=Counts(replies=len(comments)),
        comments=comments,
        complete=complete,
        cursor=cursor,
        keep_counts=True,
    )


def parse_time(value: str | datetime | None) -> datetime:
    """An aware UTC datetime from an ISO 8601 string (``Z`` allowed) or a datetime."""
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
