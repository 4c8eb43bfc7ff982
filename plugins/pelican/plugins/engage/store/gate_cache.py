"""The gate's saved results (gate/cache.py says what the keys and values are)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from ..model import now_iso
from .connection import Repository

# Verdicts of this many sites are kept: a production and a local build, and the
# site as it was before the latest edits.
KEEP_SITES = 4


class GateResults(Repository):
    """The ``gate_analysis`` and ``gate_verdicts`` tables."""

    def analyses(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT key, value FROM gate_analysis").fetchall())

    def verdicts(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT site, value FROM gate_verdicts").fetchall())

    def save(
        self,
        analyses: Mapping[str, str],
        verdicts: tuple[str, str] | None,
        *,
        keep: Collection[str],
    ) -> None:
        """Add new ``analyses`` and the site's ``verdicts``; only the analyses named in
        ``keep`` (the site's posts as they are now) and the newest sites stay."""
        with self._db.atomic() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO gate_analysis (key, value) VALUES (?, ?)",
                analyses.items(),
            )
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS gate_keep (key TEXT PRIMARY KEY)")
            conn.execute("DELETE FROM gate_keep")
            conn.executemany("INSERT OR IGNORE INTO gate_keep VALUES (?)", ((k,) for k in keep))
            conn.execute("DELETE FROM gate_analysis WHERE key NOT IN (SELECT key FROM gate_keep)")
            if verdicts is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO gate_verdicts (site, value, saved_at) VALUES (?, ?, ?)",
                    (*verdicts, now_iso()),
                )
            conn.execute(
                "DELETE FROM gate_verdicts WHERE site NOT IN"
                " (SELECT site FROM gate_verdicts ORDER BY saved_at DESC, rowid DESC LIMIT ?)",
                (KEEP_SITES,),
            )
