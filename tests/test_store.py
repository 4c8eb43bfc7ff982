"""The state database: versioning, refusal of foreign or broken files, locking, repositories."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pelican.plugins.engage.errors import BudgetExceeded, StoreError
from pelican.plugins.engage.model import SourceText
from pelican.plugins.engage.store import SCHEMA_VERSION, Store
from pelican.plugins.engage.store import migrations as store_mod


def test_creates_a_versioned_wal_database(tmp_path: Path) -> None:
    path = tmp_path / "engage.sqlite3"
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10000
    with Store.open(path) as store:  # reopening migrates nothing and keeps data
        assert store.schema_version == SCHEMA_VERSION


def test_sources_round_trip(tmp_path: Path) -> None:
    with Store.open(tmp_path / "e.sqlite3") as store:
        store.save_source(
            SourceText("https://a.example/x", True, "text"), feed_url=None, via="page"
        )
        store.save_source(
            SourceText("https://a.example/y", False, "", "HTTP 404"), feed_url="f", via=None
        )
        got = store.sources()
    assert got["https://a.example/x"].ok and got["https://a.example/x"].text == "text"
    assert not got["https://a.example/y"].ok and got["https://a.example/y"].error == "HTTP 404"
    readonly = Store.open_readonly(tmp_path / "e.sqlite3")
    assert readonly is not None and set(readonly.sources()) == set(got)
    readonly.close()


def test_readonly_open_of_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    assert Store.open_readonly(tmp_path / "none.sqlite3") is None
    assert not (tmp_path / "none.sqlite3").exists()


def at_current_version(folder: Path) -> Path:
    """A database created by this version of the store."""
    path = folder / "e.sqlite3"
    with Store.open(path):
        pass
    return path


def one_more_migration(monkeypatch: pytest.MonkeyPatch, sql: str) -> None:
    """Pretend the next version of the store adds the migration ``sql``."""
    monkeypatch.setattr(store_mod, "MIGRATIONS", [*store_mod.MIGRATIONS, sql])
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)


def test_forward_migration_from_an_older_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = at_current_version(tmp_path)
    one_more_migration(monkeypatch, "CREATE TABLE extra (x INTEGER);")
    with pytest.raises(StoreError, match="older schema"):
        Store.open_readonly(path)  # the build never migrates
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION + 1
        store.conn.execute("INSERT INTO extra VALUES (1)")


def test_a_failing_migration_leaves_the_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = at_current_version(tmp_path)
    one_more_migration(monkeypatch, "CREATE TABLE t (x); THIS IS NOT SQL;")
    with pytest.raises(StoreError, match=f"could not upgrade .* left at schema {SCHEMA_VERSION}"):
        Store.open(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name='t'").fetchone()[0] == 0


@pytest.mark.parametrize("opener", ["open", "open_readonly"])
def test_corrupt_database_is_refused_and_untouched(tmp_path: Path, opener: str) -> None:
    path = tmp_path / "engage.sqlite3"
    garbage = b"this is not a database " * 200
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match=r"is not a usable engage database .*move it aside"):
        getattr(Store, opener)(path)
    assert path.read_bytes() == garbage


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "engage.sqlite3"
    with Store.open(path) as store:
        store.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer pelican-engage"):
        Store.open(path)
    with pytest.raises(StoreError, match="newer pelican-engage"):
        Store.open_readonly(path)
    assert path.read_bytes() == before


def test_someone_elses_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not an engage one"):
        Store.open(path)


def test_a_second_writer_waits_then_gets_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    with Store.open(path), pytest.raises(StoreError, match="in use by another engage command"):
        Store.open(path, lock_timeout=0.2)
    with Store.open(path, lock_timeout=0.2):  # released on close
        pass


def test_readers_do_not_need_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    with Store.open(path):
        reader = Store.open_readonly(path)
        assert reader is not None
        reader.close()


def test_daily_usage_meter(tmp_path: Path) -> None:
    with Store.open(tmp_path / "e.sqlite3") as store:
        store.spend("x", "posts", 2)
        store.spend("x", "posts", 2)
        store.spend("x", "reads", 2)
        with pytest.raises(BudgetExceeded, match="daily limit of 2 posts"):
            store.spend("x", "posts", 2)
    with Store.open(tmp_path / "e.sqlite3") as store, pytest.raises(BudgetExceeded):
        store.spend("x", "posts", 2)  # persists across runs


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A local time zone whose calendar shows another day than UTC's right now."""
    # POSIX TZ strings count east of Greenwich as negative: UTC+14 is a day ahead of UTC
    # from 10:00 UTC on, UTC-12 a day behind until 12:00 UTC.
    monkeypatch.setenv("TZ", "LINT-14" if datetime.now(UTC).hour >= 10 else "BIT+12")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("far_from_utc")
def test_the_meter_counts_utc_days_not_local_ones(tmp_path: Path) -> None:
    assert date.today() != datetime.now(UTC).date()  # the premise: the two calendars differ
    with Store.open(tmp_path / "e.sqlite3") as store:
        # A full count under the local date belongs to another (UTC) day.
        store.conn.execute(
            "INSERT INTO usage (network, kind, day, count) VALUES ('x', 'posts', ?, 2)",
            (date.today().isoformat(),),
        )
        store.spend("x", "posts", 2)
        assert store.meter.used("x", "posts") == 1
        days = {r[0] for r in store.conn.execute("SELECT day FROM usage WHERE count = 1")}
    assert days == {datetime.now(UTC).date().isoformat()}


def test_the_shared_meter_counts_from_other_threads(tmp_path: Path) -> None:
    with Store.open(tmp_path / "e.sqlite3") as store:
        meter = store.shared_meter()
        errors: list[BaseException] = []

        def spend() -> None:
            try:
                meter.spend("x", "reads", 3)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        workers = [threading.Thread(target=spend) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        meter.close()
        assert store.meter.used("x", "reads") == 3
        assert len(errors) == 1 and isinstance(errors[0], BudgetExceeded)
    reader = Store.open_readonly(tmp_path / "e.sqlite3")
    assert reader is not None
    with reader, pytest.raises(StoreError, match="read-only"):
        reader.shared_meter()


def test_transactions_nest_only_where_asked(tmp_path: Path) -> None:
    with Store.open(tmp_path / "e.sqlite3") as store:
        # The ledger's writes must be on disk when they return: never held open by a caller.
        with store.transaction(), pytest.raises(sqlite3.OperationalError):
            store.ledger.record_first_publish("mastodon", "2026-01-01T00:00:00+00:00")
        # Conversation writes join a batch, and leave with it when it fails.
        with pytest.raises(RuntimeError), store.transaction():
            store.comments.add_moderation("comment", "mastodon:1", "2026-01-01T00:00:00+00:00")
            raise RuntimeError
        assert store.comments.moderation() == []
        with store.transaction():
            store.comments.add_moderation("comment", "mastodon:1", "2026-01-01T00:00:00+00:00")
        assert store.comments.moderation() == [("comment", "mastodon:1")]


def test_one_upsert_saves_a_comment_and_refreshes_it(tmp_path: Path) -> None:
    values = {
        "id": "mastodon:1", "network": "mastodon", "remote_id": "1", "article": "a.md",
        "parent_id": None, "author_name": "Bob", "author_handle": "@bob@social.example",
        "author_url": "https://social.example/@bob", "avatar_url": None, "html": "<p>Hi</p>",
        "url": "https://social.example/@bob/1", "kind": "reply", "is_own": 0, "likes": 0,
        "reposts": 0, "created_at": "2026-01-01T00:00:00+00:00", "edited_at": None,
        "remote_extra": "{}", "moderated": 0,
    }  # fmt: skip
    with Store.open(tmp_path / "e.sqlite3") as store:
        store.comments.save(values, seen="2026-01-01T01:00:00+00:00")
        store.comments.set_missing("mastodon:1", 2, removed=True)
        store.comments.save({**values, "html": "<p>Hi!</p>"}, seen="2026-01-02T01:00:00+00:00")
        row = store.comments.get("mastodon:1")
    assert row is not None
    assert row["html"] == "<p>Hi!</p>"
    assert (row["first_seen"], row["last_seen"]) == (
        "2026-01-01T01:00:00+00:00",
        "2026-01-02T01:00:00+00:00",
    )
    assert (row["missing"], row["removed"]) == (0, 0)  # seen again: restored
