"""How long does `engage sync` take to learn the site's posts, before and after issue 13?

Usage::

    .venv/bin/python benchmarks/sync_site.py [--posts 1000] [--repeat 3] [--write]

A measurement, not a test: it always exits 0.

Before, every `engage sync` ran Pelican's generators over the whole site
(``site.read_site``) to learn which articles exist, their URLs and their
``Comments_Feed``. Now the first run stores what a sync needs of them with a
fingerprint of the content and settings files
(``backfeed.site_posts.known_posts``), and later runs whose files did not
change read the store instead. The site is the one ``benchmarks/sync.py``
generates (N posts of 300 to 1,500 words, fixed seed); each figure is the
median of ``--repeat`` runs, in this process, after one untimed warm-up:

* **before**: ``site.read_site`` (what `engage sync` did on every run);
* **after, unchanged site**: ``known_posts`` when no file changed
  (fingerprinting every file, one store read);
* **after, one post edited**: ``known_posts`` after touching one file: the
  site is read again and the posts stored.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reporting import run_section
from sync import generate_site  # the benchmark's generated site


def timed(func: Any, repeat: int) -> float:
    func()  # warm-up
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def measure(posts: int, repeat: int, root: Path) -> dict[str, Any]:
    from pelican.plugins.engage import site
    from pelican.plugins.engage.backfeed.site_posts import known_posts

    generate_site(root, posts, {}, datetime.now(UTC), (300, 1500))
    conf = root / "pelicanconf.py"
    settings = site.load_settings(conf)
    db = root / "engage.sqlite3"

    def read() -> Any:
        return site.read_site(settings).posts

    def learn() -> Any:
        return known_posts(db, root / "content", conf, read)

    first = root / "content" / "post-0000.md"

    def edited() -> Any:
        stat = first.stat()
        os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        return learn()

    before = timed(read, repeat)
    unchanged = timed(learn, repeat)
    changed = timed(edited, repeat)
    return {
        "posts": posts,
        "before_s": round(before, 3),
        "after_unchanged_s": round(unchanged, 3),
        "after_edited_s": round(changed, 3),
        "speedup": round(before / unchanged, 1),
    }


def report(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"| learning the posts of a site of {result['posts']:,} posts | seconds (median) |",
            "|---|---:|",
            f"| before: Pelican's generators on every run | {result['before_s']} |",
            f"| after, no file changed: the stored posts | **{result['after_unchanged_s']}** |",
            f"| after, one post edited: read again, stored | {result['after_edited_s']} |",
            f"| speed-up on an unchanged site | **{result['speedup']}x** |",
        ]
    )


def main() -> None:
    options = {"posts": (int, 1000), "repeat": (int, 3)}
    run_section(__doc__ or "", options, measure, report, mark="sync_site")


if __name__ == "__main__":
    main()
