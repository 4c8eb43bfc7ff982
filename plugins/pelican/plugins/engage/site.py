"""Run Pelican for the `engage` commands: read the site, or build it.

Reading runs every generator's ``generate_context`` (so the plugin judges
every article) without writing output; building is a full ``Pelican.run()``.
Either way the plugin must really have run: Pelican only logs a plugin that
fails to import, and the build would "succeed" without it.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pelican import Pelican  # type: ignore[attr-defined]  # mypy sees our namespace dir
from pelican.settings import read_settings

from . import plugin
from .backfeed import prerender
from .errors import ConfigError, EngageError
from .gate import rules as gate
from .settings import BASE_DIR_KEY, EngageSettings
from .store import Store
from .syndication.identity import date_text

if TYPE_CHECKING:
    from rich.console import Console

    from .backfeed.site_posts import SyncedPost

log = logging.getLogger(__name__)


def load_settings(path: Path | str, override: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Pelican settings from ``path``, with relative engage paths resolved beside it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"settings file {path} does not exist")
    folder = path.resolve().parent
    values = dict(override or {})
    # publishconf.py does `from pelicanconf import *`: make that import find the
    # pelicanconf.py beside it, not one cached from another site in this process.
    for name in ("pelicanconf", "publishconf"):
        cached = getattr(sys.modules.get(name), "__file__", None)
        if cached and Path(cached).resolve().parent != folder:
            del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        settings = dict(read_settings(str(path), override=values))
    finally:
        sys.path.remove(str(folder))
    # Relative engage paths resolve beside the settings file, unless it says otherwise.
    settings.setdefault(BASE_DIR_KEY, str(folder))
    return settings


def _checked(settings: Mapping[str, Any]) -> plugin.BuildRecord:
    record = plugin.last_build()
    if record is None:
        loaded = ", ".join(map(str, settings.get("PLUGINS") or [])) or "none"
        raise EngageError(
            "the engage plugin did not run during the Pelican build (plugins loaded: "
            f'{loaded}); add PLUGINS = ["engage"] to the settings and check the log above '
            "for an import error"
        )
    return record


def read_site(settings: dict[str, Any]) -> plugin.BuildRecord:
    """Judge every article without writing any output."""
    pelican = Pelican(settings)
    context = dict(settings)
    context.update(
        generated_content={},
        static_links=set(),
        static_content={},
        localsiteurl=settings["SITEURL"],
    )
    generators = [
        cls(
            context=context,
            settings=settings,
            path=pelican.path,
            theme=pelican.theme,
            output_path=pelican.output_path,
        )
        for cls in pelican._get_generator_classes()
    ]
    for generator in generators:
        if hasattr(generator, "generate_context"):
            generator.generate_context()
    return _checked(settings)


def build_site(settings: dict[str, Any]) -> plugin.BuildRecord:
    """A full Pelican build into OUTPUT_PATH."""
    Pelican(settings).run()
    return _checked(settings)


def rejudge(record: plugin.BuildRecord, sources: Mapping[str, gate.SourceText]) -> None:
    """Judge the posts again with fresher source texts (after `engage check` fetched them)."""
    for verdicts in {id(p.verdicts): p.verdicts for p in record.posts}.values():
        verdicts.rejudge(sources)


def run_deploy(command: str, base_dir: Path, console: Console) -> None:
    console.print(f"Deploying: [bold]{command}[/]")
    result = subprocess.run(shlex.split(command), cwd=base_dir, check=False)
    if result.returncode != 0:
        raise EngageError(f"the deploy command exited with {result.returncode}; nothing was posted")


def remember_posts(record: plugin.BuildRecord, store: Store) -> None:
    """Keep each article's identity (key, where its file and URL are now) for later reads,
    so a moved or re-slugged file is still the same post; gone posts are marked missing."""
    store.posts.remember(
        [
            (p.key, p.source_path, p.url, p.title, date_text(p.date))
            for p in record.posts
            if p.kind == "article"
        ],
        [known.key for known in record.identities.orphaned],
    )


def remember_gate(record: plugin.BuildRecord, store: Store, *, judge: bool = False) -> None:
    """Save the gate's results for ``record`` that were not saved yet, so the next build
    reuses them (gate/cache.py); with ``judge`` the site's verdicts are computed first.

    Only the analyses of the site as it is now are kept.
    """
    if judge:
        for post in record.posts:
            _ = post.verdict
    groups = {id(p.verdicts): p.verdicts for p in record.posts}.values()
    analyses: dict[str, str] = {}
    keep: set[str] = set()
    verdicts = None
    for group in groups:
        fresh, site_verdicts = group.fresh()
        analyses.update(fresh)
        keep.update(group.analysis_keys())
        verdicts = verdicts or site_verdicts
    store.gate_results.save(analyses, verdicts, keep=keep)


def save_conversations(
    store: Store,
    settings: Mapping[str, Any],
    posts: Iterable[SyncedPost],
    *,
    whole_site: bool = True,
) -> int:
    """Render the conversations that changed since the last save, for the next build
    with ``settings`` to reuse (backfeed/prerender.py); returns how many were rendered."""
    pages = [(p.key, p.url) for p in posts if p.kind == "article"]
    siteurl = str(settings.get("SITEURL") or "")
    engage = EngageSettings.from_pelican(settings)
    return prerender.save_rendered(store, engage, siteurl, pages, whole_site=whole_site)
