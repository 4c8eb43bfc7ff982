"""The state database: versioning, refusal of foreign or broken files, locking."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pelican.plugins.engage import store as store_mod
from pelican.plugins.engage.errors import BudgetExceeded, StoreError
from pelican.plugins.engage.model import SourceText
from pelican.plugins.engage.store import SCHEMA_VERSION, Store


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


def test_forward_migration_from_an_older_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "e.sqlite3"
    with Store.open(path):
        pass
    monkeypatch.setattr(
        store_mod, "MIGRATIONS", [*store_mod.MIGRATIONS, "CREATE TABLE extra (x INTEGER);"]
    )
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match="older schema"):
        Store.open_readonly(path)  # the build never migrates
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION + 1
        store.conn.execute("INSERT INTO extra VALUES (1)")


def test_a_failing_migration_leaves_the_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "e.sqlite3"
    with Store.open(path):
        pass
    monkeypatch.setattr(
        store_mod, "MIGRATIONS", [*store_mod.MIGRATIONS, "CREATE TABLE t (x); THIS IS NOT SQL;"]
    )
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
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
