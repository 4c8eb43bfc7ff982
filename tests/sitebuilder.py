"""Build small throwaway Pelican sites for tests."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from conftest import REPO


def write_post(content: Path, name: str, body: str, **meta: str) -> Path:
    """A Markdown post with Pelican metadata; ``meta`` keys are written as given."""
    meta.setdefault("Title", name.replace("-", " ").title())
    meta.setdefault("Date", "2026-11-01 10:00")
    header = "".join(f"{k}: {v}\n" for k, v in meta.items())
    path = content / f"{name}.md"
    path.write_text(header + "\n" + textwrap.dedent(body).strip() + "\n", encoding="utf-8")
    return path


def write_settings(site: Path, **settings: Any) -> Path:
    """A pelicanconf.py for ``site`` using the repo's theme and the engage plugin."""
    values = {
        "AUTHOR": "Test Author",
        "SITENAME": "Test site",
        "SITEURL": "https://blog.example.net",
        "PATH": "content",
        "OUTPUT_PATH": "output",
        "TIMEZONE": "UTC",
        "THEME": str(REPO / "theme"),
        "PLUGINS": ["engage"],
        "ENGAGE_SHOW_GATE": True,
        "FEED_ALL_ATOM": None,
        "CATEGORY_FEED_ATOM": None,
        "AUTHOR_FEED_ATOM": None,
        "AUTHOR_FEED_RSS": None,
        "TRANSLATION_FEED_ATOM": None,
        "CACHE_CONTENT": False,
        "LOAD_CONTENT_CACHE": False,
    }
    values.update(settings)
    site.mkdir(parents=True, exist_ok=True)
    path = site / "pelicanconf.py"
    path.write_text("".join(f"{k} = {v!r}\n" for k, v in values.items()), encoding="utf-8")
    (site / "content").mkdir(exist_ok=True)
    return path


TAKE = (
    "I have been running my own little server for three years now, and the thing that "
    "surprised me most is how little of the work is technical. Most of it is deciding "
    "what kind of place I want it to be, writing that down, and then actually answering "
    "the people who show up. That part never gets automated away, and I am glad."
)

# Distinct original commentaries, for sites with several posts (the gate refuses reuse).
TAKES = [
    TAKE,
    (
        "What struck me here is how much of the benefit comes from boring defaults rather than "
        "clever features. Nobody will write a conference talk about sensible timeouts or a "
        "readable error message, yet those are the things that decide whether I trust a tool "
        "with my evenings. I would trade three new features for one less surprising default."
    ),
    (
        "I disagree with the framing a little. Calling it a migration makes it sound like a "
        "single weekend of work, when in my experience the long tail of broken links, stale "
        "bookmarks and confused readers lasts for months. Plan for that tail, budget time for "
        "answering people, and write down every redirect you add so future you can find it."
    ),
    (
        "My rule of thumb after a decade of this: if a service makes export hard, assume the "
        "export will be incomplete on the day you need it most. Keep your own copy from the "
        "start, in a format a text editor can open, and test restoring it once a year. It "
        "takes an hour and it has saved me twice already, which is a good return on an hour."
    ),
]
