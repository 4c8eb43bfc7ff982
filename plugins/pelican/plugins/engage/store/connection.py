"""Opening the state database: identity and version checks, the writers' lock, transactions.

Every connection to the file is made here, so none skips the checks: a file
that is not ours, is corrupt, or was written by a newer version is refused
with one sentence and never touched.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Self

from filelock import FileLock, Timeout

from ..errors import StoreError
from . import migrations
from .migrations import APPLICATION_ID


class Database:
    """One connection to the state database; use :meth:`open` or :meth:`open_readonly`."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: FileLock | None) -> None:
        self.path = path
        self.conn = conn
        self._lock = lock

    # -- opening ------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | str, *, lock_timeout: float = 30.0) -> Self:
        """Open for writing, creating and migrating as needed, under an exclusive lock."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(f"{path}.lock", timeout=lock_timeout)
        try:
            lock.acquire()
        except Timeout:
            raise StoreError(
                f"{path} is in use by another engage command; wait for it to finish"
            ) from None
        try:
            db = cls(path, cls._connect(path, readonly=False), lock)
        except BaseException:
            lock.release()
            raise
        try:
            db._check_identity()
            migrations.migrate(db)
        except BaseException:
            db.close()
            raise
        return db

    @classmethod
    def open_readonly(cls, path: Path | str) -> Self | None:
        """Open for reading without locking or creating; None when there is no database."""
        path = Path(path)
        if not path.exists():
            return None
        db = cls(path, cls._connect(path, readonly=True), None)
        version = db._check_identity()
        if version < migrations.SCHEMA_VERSION:
            db.close()
            raise StoreError(
                f"{path} uses an older schema (version {version}); "
                "run any engage command to upgrade it"
            )
        return db

    def companion(self) -> Self:
        """A second connection to this file that any thread may use, one at a time.

        It shares the writers' lock this one holds (a second lock on the same
        file would wait for ourselves), so it is only for a store opened with
        :meth:`open`, and is closed before it.
        """
        if self._lock is None:
            raise StoreError(f"{self.path} was opened read-only; it has no writer to share")
        db = type(self)(self.path, self._connect(self.path, readonly=False, threads=True), None)
        if db._check_identity() != migrations.SCHEMA_VERSION:
            db.close()
            raise StoreError(f"{self.path} changed schema while in use; run the command again")
        return db

    @staticmethod
    def _connect(path: Path, *, readonly: bool, threads: bool = False) -> sqlite3.Connection:
        try:
            if readonly:
                # A URI, so a missing file is never created; as_uri() escapes "?" and "#".
                uri = f"{path.resolve().as_uri()}?mode=ro"
                conn = sqlite3.connect(uri, uri=True, timeout=10)
            else:
                conn = sqlite3.connect(
                    path, timeout=10, isolation_level=None, check_same_thread=not threads
                )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA foreign_keys = ON")
            if not readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{path} is not a usable engage database ({exc}); move it aside to start afresh"
            ) from None
        return conn

    def _check_identity(self) -> int:
        try:
            app_id = self.conn.execute("PRAGMA application_id").fetchone()[0]
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            tables = self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError(
                f"{self.path} is not a usable engage database ({exc}); "
                "move it aside to start afresh"
            ) from None
        if tables and app_id != APPLICATION_ID:
            self.conn.close()
            raise StoreError(
                f"{self.path} is an SQLite database but not an engage one; refusing to touch it"
            )
        if version > migrations.SCHEMA_VERSION:
            self.conn.close()
            raise StoreError(
                f"{self.path} was written by a newer pelican-engage (schema {version}, this one "
                f"knows {migrations.SCHEMA_VERSION}); upgrade pelican-engage"
            )
        return int(version)

    # -- closing ------------------------------------------------------------
    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ---------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT: committed (durably) when the block ends.

        Never joins an open transaction (SQLite refuses the nested BEGIN): a
        write that must be on disk before the next step (the ledger's
        ``pending``) uses this.
        """
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextlib.contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """Join the open transaction, or run in one of its own when none is open.

        A sync merges many threads per transaction; each repository write
        inside it joins. An error that leaves the block undoes the whole
        transaction once it reaches the outermost one.
        """
        if self.conn.in_transaction:
            yield self.conn
            return
        with self.transaction() as conn:
            yield conn

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])


Row = dict[str, Any]  # one row as the repositories return it: column name -> value


class Repository:
    """Base of the repositories: the SQL of one table family, on one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def _conn(self) -> sqlite3.Connection:
        return self._db.conn

    def _upsert(self, table: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        """Insert a row of ``table``, or set ``values`` on the row that has ``key`` already.

        The table and column names are the code's own, never data.
        """
        columns = [*key, *values]
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
            + ", ".join(f"{column} = excluded.{column}" for column in values)
        )
        with self._db.atomic():
            self._conn.execute(sql, (*key.values(), *values.values()))
