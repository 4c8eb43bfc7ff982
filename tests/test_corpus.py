"""Real public Pelican blogs build the same with the plugin as without it (issue 12).

Each blog of ``tests/corpus/`` (content only; origin and licence in its README)
is built twice with Pelican's default theme: without any plugin and with
``PLUGINS = ["engage"]``. The plugin may add markup, never take anything
away: the same set of output files, no new warning or error in Pelican's log,
and every page's text still there.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from conftest import REPO
from sitebuilder import QUIET_BUILD

from pelican.plugins.engage import plugin, site

CORPUS = REPO / "tests" / "corpus"
COMMON = {**QUIET_BUILD, "DELETE_OUTPUT_DIRECTORY": False}
# Each blog's own settings, as far as they concern its content (not its theme or plugins).
BLOGS: dict[str, dict[str, Any]] = {
    "pelican-samples": {
        "AUTHOR": "Alexis Métaireau",
        "SITENAME": "Alexis' log",
        "SITEURL": "http://blog.notmyidea.org",
        "TIMEZONE": "Europe/Paris",
        "DEFAULT_LANG": "en",
        "DEFAULT_DATE": (2012, 3, 2, 14, 1, 1),
        "DEFAULT_METADATA": {"yeah": "it is"},
        "DEFAULT_PAGINATION": 4,
        "PYGMENTS_RST_OPTIONS": {"linenos": "table"},
    },
    "bitbili": {
        "AUTHOR": "Bekcpear",
        "SITENAME": "bitbili",
        "SITEURL": "https://bitbili.net",
        "TIMEZONE": "Asia/Shanghai",
        "DEFAULT_LANG": "zh_hans",
        "DEFAULT_PAGINATION": 6,
        "PAGE_URL": "{slug}.html",
        "PAGE_SAVE_AS": "{slug}.html",
    },
}


class Collect(logging.Handler):
    """Pelican's warnings and errors during one build."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def build(blog: str, output: Path, plugins: list[str]) -> tuple[list[str], Any]:
    """Build ``blog`` into ``output``; its log lines (warnings and up) and the engage record."""
    conf = output.parent / "pelicanconf.py"
    conf.write_text("# Every setting comes from the test: COMMON and BLOGS.\n", encoding="utf-8")
    settings = site.load_settings(
        conf,
        {
            **COMMON,
            **BLOGS[blog],
            "PATH": str(CORPUS / blog / "content"),
            "OUTPUT_PATH": str(output),
            "THEME": "notmyidea",
            "PLUGINS": plugins,
            "ENGAGE_DB": str(output.parent / f"{output.name}.sqlite3"),
            "ENGAGE_SHOW_GATE": False,
        },
    )
    handler = Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        site.build_site(settings) if plugins else _build_without_engage(settings)
    finally:
        root.removeHandler(handler)
    lines = [
        f"{r.levelname} {r.name}: {r.getMessage()}".replace(str(output), "<output>")
        for r in handler.records
    ]
    return lines, plugin.last_build() if plugins else None


def _build_without_engage(settings: dict[str, Any]) -> None:
    from pelican import Pelican  # type: ignore[attr-defined]

    Pelican(settings).run()


def pages(output: Path) -> dict[str, str]:
    """Every HTML page's visible text, whitespace collapsed, by path in the output."""
    texts = {}
    for path in sorted(output.rglob("*.html")):
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        for tag in soup(["script", "style"]):
            tag.decompose()
        texts[path.relative_to(output).as_posix()] = " ".join(soup.get_text(" ").split())
    return texts


@pytest.mark.parametrize("blog", sorted(BLOGS))
def test_a_real_blog_builds_the_same_with_the_plugin(blog: str, tmp_path: Path) -> None:
    plain_log, _ = build(blog, tmp_path / "plain", [])
    engaged_log, record = build(blog, tmp_path / "engaged", ["engage"])
    assert record is not None, "the plugin did not run"
    plain_files = {p.relative_to(tmp_path / "plain") for p in (tmp_path / "plain").rglob("*")}
    engaged_files = {p.relative_to(tmp_path / "engaged") for p in (tmp_path / "engaged").rglob("*")}
    assert engaged_files == plain_files
    new = Counter(engaged_log) - Counter(plain_log)
    assert not new, f"new log lines with the plugin: {sorted(new)}"
    plain, engaged = pages(tmp_path / "plain"), pages(tmp_path / "engaged")
    articles = {p.source_path for p in record.posts if p.kind == "article"}
    assert len(articles) >= 7
    for name, text in plain.items():
        assert text == engaged[name] or text in engaged[name], name
    # Pelican's log names no error with or without the plugin (warnings: the same ones).
    assert not [line for line in engaged_log if re.match(r"(ERROR|CRITICAL) ", line)]


def test_the_sample_blogs_translations_are_no_second_candidates(tmp_path: Path) -> None:
    _, record = build("pelican-samples", tmp_path / "out", ["engage"])
    candidates = {p.source_path.split("/content/", 1)[-1]: p.candidate for p in record.posts}
    translations = {k: v for k, v in candidates.items() if k.endswith("-fr.rst")}
    assert translations == {"another_super_article-fr.rst": False, "article2-fr.rst": False}
    assert candidates["another_super_article.rst"] is True
