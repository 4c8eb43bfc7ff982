"""The SQLite state database: source texts, the posting ledger, comments, answers.

One file, beside pelicanconf.py by default. Opened in WAL mode with a busy
timeout; commands that write hold an exclusive file lock for their whole run,
so two `engage` processes never interleave their work. The schema is
versioned with ``PRAGMA user_version`` and moved forward by the MIGRATIONS
list, one transaction per step. A file that is not ours, is corrupt, or was
written by a newer version is refused with one sentence and never touched.
No credential is ever stored here.

This package is the only code that speaks SQL: the rest of the plugin calls
the repositories a :class:`Store` carries (``store.ledger``, ``store.comments``,
``store.sync_states``, ``store.answers``, ``store.acknowledgements``,
``store.source_texts``, ``store.meter``) and gets plain dicts, tuples or model
objects back. Comments also get short refs (``41``) there, kept by a trigger.

* ``connection``: opening, identity and version checks, the lock, transactions
* ``migrations``: the versioned schema
* ``sources``, ``meter``, ``ledger``, ``comments``, ``sync_state``, ``answers``,
  ``posts``: one repository per table family
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from filelock import FileLock

from ..model import SourceText
from .acknowledgements import Acknowledgements
from .answers import Answers
from .comments import Comments
from .connection import Database
from .gate_cache import GateResults
from .ledger import LedgerEntries
from .meter import SharedMeter, SpendMeter
from .migrations import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from .posts import PostIdentities
from .rendered import RenderedThreads
from .sources import SourceTexts
from .sync_state import SyncStates

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "SharedMeter", "Store"]


class Store(Database):
    """The state database and its repositories; use :meth:`open` or :meth:`open_readonly`.

    Also the persistent :class:`~pelican.plugins.engage.networks.base.UsageMeter`
    the adapters are given (:meth:`spend`).
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: FileLock | None) -> None:
        super().__init__(path, conn, lock)
        self.source_texts = SourceTexts(self)
        self.meter = SpendMeter(self)
        self.ledger = LedgerEntries(self)
        self.comments = Comments(self)
        self.sync_states = SyncStates(self)
        self.answers = Answers(self)
        self.acknowledgements = Acknowledgements(self)  # likes sent, comments marked done
        self.posts = PostIdentities(self)
        self.gate_results = GateResults(self)  # saved by the commands, read by the build
        self.rendered = RenderedThreads(self)  # conversations, likewise

    def sources(self) -> dict[str, SourceText]:
        return self.source_texts.all()

    def save_source(self, source: SourceText, *, feed_url: str | None, via: str | None) -> None:
        self.source_texts.save(source, feed_url=feed_url, via=via)

    def spend(self, network: str, kind: str, limit: int | None) -> None:
        """Record one billable call; refuse past ``limit`` calls of ``kind`` today (UTC)."""
        self.meter.spend(network, kind, limit)

    def shared_meter(self) -> SharedMeter:
        """The spend meter for worker threads; close it before the store."""
        return SharedMeter(self)
