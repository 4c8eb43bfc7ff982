"""Keys and encodings for remembering the gate's results between runs.

The build is read-only and runs often; the `engage` commands judge the whole
site anyway. So the commands save what they computed (store/gate_cache.py) and
the next build reuses it instead of parsing every post again:

- a post's *analysis* (where its commentary is, its words and quotations) is a
  function of its rendered HTML and the commentary headings alone, so it is
  keyed by a hash of those;
- the *verdicts* depend on the whole site (reuse looks at every earlier
  commentary, copies at the cached source texts), so they are kept per site,
  keyed by a hash of every input of :func:`rules.evaluate`.

Both keys also hash the gate's own source files: results computed by another
version of the rules are never reused. Pure: no store, no Pelican.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model import SourceText
from .commentary import Commentary, PostAnalysis

if TYPE_CHECKING:
    from .rules import GateSettings, PostInput, Verdict

# A verdict without its post: reasons as (code, message), copy and reuse containment,
# and the earlier post its commentary repeats.
VerdictFields = tuple[list[tuple[str, str]], float | None, float | None, str | None]

# The modules whose code decides an analysis or a verdict.
_RULE_MODULES = ("commentary.py", "markup.py", "text.py", "rules.py", "reuse.py", "cache.py")


@dataclass
class KnownResults:
    """What the commands saved: analysis key → JSON, site key → JSON (decoded on use)."""

    analyses: Mapping[str, str] = field(default_factory=dict)
    verdicts: Mapping[str, str] = field(default_factory=dict)


@functools.cache
def code_version(folder: Path, names: tuple[str, ...]) -> str:
    """A hash of the source files ``names`` in ``folder``: saved results carry it, so
    results computed by other code are never reused."""
    digest = hashlib.sha256()
    for name in names:
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:16]


def rules_version() -> str:
    """A hash of the gate's source files: changes whenever the rules do."""
    return code_version(Path(__file__).parent, _RULE_MODULES)


def analysis_key(html: str, headings: Iterable[str]) -> str:
    digest = hashlib.sha256(rules_version().encode())
    digest.update("\x1f".join(headings).encode())
    digest.update(b"\x1e")
    digest.update(html.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def site_key(
    posts: Iterable[PostInput],
    analysis_keys: Mapping[str, str],
    sources: Mapping[str, SourceText],
    settings: GateSettings,
) -> str:
    """A hash of everything :func:`rules.evaluate` reads for ``posts``."""
    digest = hashlib.sha256(rules_version().encode())
    digest.update(repr(settings).encode())
    cited: set[str] = set()
    for post in sorted(posts, key=lambda p: p.key):
        date = post.date.isoformat() if post.date is not None else None
        fields = (post.key, analysis_keys[post.key], post.title, date, post.candidate)
        rest = (post.source_url, post.metadata_errors, post.translation_group)
        digest.update(json.dumps([*fields, *rest]).encode("utf-8", "surrogatepass"))
        if post.source_url:
            cited.add(post.source_url)
    for url in sorted(cited):
        source = sources.get(url)
        seen = None if source is None else (source.ok, source.error, _sha(source.text))
        digest.update(json.dumps([url, seen]).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# -- encodings ----------------------------------------------------------------------------


def encode_analysis(analysis: PostAnalysis) -> str:
    c = analysis.commentary
    found = None
    if c is not None:
        found = [c.html, c.own_text, c.quoted_text, c.start, c.end, c.own_words]
    return json.dumps([found, analysis.total_words, analysis.quoted_words])


def decode_analysis(text: str) -> PostAnalysis:
    found, total, quoted = json.loads(text)
    commentary = None
    if found is not None:
        html, own_text, quoted_text, start, end, own_words = found
        commentary = Commentary(html, own_text, quoted_text, start, end, own_words)
    return PostAnalysis(commentary, total, quoted)


def encode_verdicts(verdicts: Mapping[str, Verdict]) -> str:
    return json.dumps(
        {
            key: [
                [[r.code, r.message] for r in v.reasons],
                v.copy_containment,
                v.reuse_containment,
                v.reused_from,
            ]
            for key, v in verdicts.items()
        }
    )


def decode_verdicts(text: str) -> dict[str, VerdictFields]:
    decoded: dict[str, Any] = json.loads(text)
    return {
        key: ([(code, message) for code, message in reasons], copy, reuse, reused_from)
        for key, (reasons, copy, reuse, reused_from) in decoded.items()
    }
