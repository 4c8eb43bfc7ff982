"""Put the conversation on article pages whose theme does not include the partial.

Pelican's content cache is keyed on source files, so the conversation never
goes into ``article._content``: it is added to the page file Pelican has just
written (``content_written``), right after the article's content. Only the
page written for the article itself gets it (never an index, a feed or a
summary), and never twice: a page that already has the partial's marker (the
theme includes ``engage/comments.html``, or this ran before) is left alone.

Plain HTML and Jinja: the Pelican glue (plugin.py) only calls
:func:`insert_into_page`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STYLESHEET = TEMPLATES / "engage" / "conversation.css"
# Written on the root element of engage/comments.html (and so of what this module adds).
MARKER = 'data-engage="conversation"'
# Where the conversation goes when the article's content cannot be found verbatim in the
# page (a theme that filters it): the end of the article, else of the main area, else of the
# body. The first `</article>` is the article's own on an article page.
FALLBACKS = tuple(re.compile(rf"</{tag}\s*>", re.IGNORECASE) for tag in ("article", "main", "body"))


@cache
def _environment() -> Environment:
    # Our own environment, not the theme's: autoescaping on, our templates only, so
    # a theme's filters and overrides cannot change what is inserted.
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["stylesheet"] = Markup(STYLESHEET.read_text(encoding="utf-8"))
    return env


def render(context: Mapping[str, Any]) -> str:
    """What goes on the page of ``context["article"]``; "" when it has nothing to show."""
    engage = context["article"].engage
    links = [
        s for s in engage.syndications or () if (s.url or "").startswith(("https://", "http://"))
    ]
    template = _environment().get_template("engage/inserted.html")
    return template.render({**context, "syndications": links}).strip()


def insert(page: str, block: str, content: str) -> str | None:
    """``page`` with ``block`` right after the article's ``content``, or None to leave it.

    None when the page already shows the conversation or has no place for it.
    """
    if not block or MARKER in page:
        return None
    at = page.find(content) if content.strip() else -1
    if at >= 0:
        end = at + len(content)
        return f"{page[:end]}\n{block}\n{page[end:]}"
    for closing in FALLBACKS:
        found = closing.search(page)
        if found:
            return f"{page[: found.start()]}\n{block}\n{page[found.start() :]}"
    return None


def is_article_page(context: Mapping[str, Any]) -> bool:
    """Whether Pelican is writing the page of ``context["article"]`` (or a translation's).

    An index, tag or category page has no ``article``; the output file tells the
    article's own page from any other page a theme might write with one.
    """
    article = context.get("article")
    if article is None or not getattr(article, "engage", None):
        return False
    written = context.get("output_file")
    return bool(written) and written == getattr(article, "save_as", None)


def has_conversation(article: Any) -> bool:
    """Whether engage/comments.html shows anything for ``article`` (comments or counts)."""
    engage = getattr(article, "engage", None)
    return bool(engage) and bool(
        getattr(engage, "comments", None) or getattr(engage, "counts", None)
    )


def insert_into_page(path: Path, context: Mapping[str, Any]) -> bool:
    """Add the conversation to the written file ``path`` when it is an article page.

    Returns whether the file was changed.
    """
    if not has_conversation(context.get("article")):
        return False  # engage/comments.html would render nothing: no need to read the page
    if not is_article_page(context) or path.suffix.lower() not in {".html", ".htm"}:
        return False
    page = path.read_text(encoding="utf-8")
    if MARKER in page:  # the theme includes the partial: cheaper to look before rendering
        return False
    block = render(context)
    # The same content the theme printed: Pelican's shared context still holds this
    # page's site URL, which article.content uses to resolve {filename} links.
    changed = insert(page, block, str(context["article"].content or ""))
    if changed is None:
        return False
    path.write_text(changed, encoding="utf-8")
    return True
