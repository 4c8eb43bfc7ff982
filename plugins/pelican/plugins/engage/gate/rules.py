"""The gate: is a post's own take original enough to cross-post?

Pure logic: takes rendered HTML, the cached source texts and the settings,
returns a verdict with reason codes and messages that carry the numbers. It
imports neither Pelican nor any network library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..model import SourceText
from . import cache
from . import text as textmod
from .commentary import PostAnalysis, analyze
from .reuse import ReuseIndex
from .text import Shingle

DEFAULT_HEADINGS = ("My take", "Commentary", "What I think", "Why it matters")

MISSING_COMMENTARY = "missing_commentary"
TOO_SHORT = "too_short"
MOSTLY_QUOTED = "mostly_quoted"
COPIED_FROM_SOURCE = "copied_from_source"
REUSED_COMMENTARY = "reused_commentary"
SOURCE_UNCHECKED = "source_unchecked"
INVALID_METADATA = "invalid_metadata"


@dataclass(frozen=True)
class GateSettings:
    headings: tuple[str, ...] = DEFAULT_HEADINGS
    min_words: int = 40
    max_quoted_ratio: float = 0.6  # quotations may be at most this share of a post's words
    copy_threshold: float = 0.5  # containment in the source at or above this is a copy
    reuse_threshold: float = 0.6  # containment in an earlier commentary at or above this
    short_text_words: int = 8  # below this, shingles are noise: compare whole phrases


@dataclass(frozen=True)
class Reason:
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class PostInput:
    key: str  # the source path: unique per post
    title: str
    date: datetime | None
    html: str
    candidate: bool
    source_url: str | None = None
    metadata_errors: tuple[str, ...] = ()
    # Shared by a post and its translations (plugin.py sets it): they are exempt from
    # each other in the reuse rule, since an untranslated copy is no boilerplate.
    translation_group: str | None = None


@dataclass
class Verdict:
    key: str
    candidate: bool
    analysis: PostAnalysis
    reasons: list[Reason] = field(default_factory=list)
    copy_containment: float | None = None
    reuse_containment: float | None = None
    reused_from: str | None = None

    @property
    def eligible(self) -> bool:
        return self.candidate and not self.reasons

    @property
    def commentary_words(self) -> int:
        c = self.analysis.commentary
        return c.own_words if c else 0

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]


def _pct(value: float) -> str:
    return f"{value:.0%}"


def evaluate(
    posts: Sequence[PostInput],
    sources: Mapping[str, SourceText],
    settings: GateSettings | None = None,
    analyses: Mapping[str, PostAnalysis] | None = None,
) -> dict[str, Verdict]:
    """Verdicts for all ``posts`` of a site, keyed by ``PostInput.key``.

    Posts are judged oldest first so a commentary is compared only with the
    commentaries written before it.
    """
    settings = settings or GateSettings()
    index = ReuseIndex()
    titles = {p.key: p.title for p in posts}
    # Each source text is normalized and shingled once, however many posts cite it.
    source_texts: dict[str, tuple[str, set[Shingle]]] = {}
    verdicts: dict[str, Verdict] = {}
    for post in sorted(posts, key=lambda p: (p.date is None, p.date or datetime.min, p.key)):
        analysis = analyses.get(post.key) if analyses else None
        verdict = Verdict(
            post.key, post.candidate, analysis or analyze(post.html, settings.headings)
        )
        for problem in post.metadata_errors:
            verdict.reasons.append(Reason(INVALID_METADATA, problem))
        normalized, shingles = _judge_commentary(verdict, settings)
        _judge_quotes(verdict, settings)
        if post.source_url:
            source = sources.get(post.source_url)
            if source is not None and source.ok and post.source_url not in source_texts:
                whole = textmod.normalize(source.text)
                source_texts[post.source_url] = (whole, textmod.shingles(whole))
            _judge_source(
                verdict,
                post.source_url,
                source,
                source_texts.get(post.source_url),
                normalized,
                shingles,
                settings,
            )
        if normalized:
            group = post.translation_group or post.key
            _judge_reuse(verdict, normalized, shingles, group, index, titles, settings)
            index.add(post.key, normalized, shingles, group)
        verdicts[post.key] = verdict
    return verdicts


def _judge_commentary(verdict: Verdict, settings: GateSettings) -> tuple[str, set[Shingle]]:
    commentary = verdict.analysis.commentary
    if commentary is None:
        headings = ", ".join(repr(h) for h in settings.headings)
        verdict.reasons.append(
            Reason(
                MISSING_COMMENTARY,
                f"no commentary section: add your own take under a heading such as {headings}, "
                'or in an element with class="commentary"',
            )
        )
        return "", set()
    words = commentary.own_words
    if words < settings.min_words:
        verdict.reasons.append(
            Reason(TOO_SHORT, f"commentary has {words} words, {settings.min_words} needed")
        )
    normalized = textmod.normalize(commentary.own_text)
    return normalized, textmod.shingles(normalized)


def _judge_quotes(verdict: Verdict, settings: GateSettings) -> None:
    analysis = verdict.analysis
    if analysis.total_words and analysis.quoted_ratio > settings.max_quoted_ratio:
        verdict.reasons.append(
            Reason(
                MOSTLY_QUOTED,
                f"quotations are {_pct(analysis.quoted_ratio)} of the post "
                f"({analysis.quoted_words} of {analysis.total_words} words), "
                f"at most {_pct(settings.max_quoted_ratio)} allowed",
            )
        )


def _judge_source(
    verdict: Verdict,
    url: str,
    source: SourceText | None,
    source_text: tuple[str, set[Shingle]] | None,
    own: str,
    own_shingles: set[Shingle],
    settings: GateSettings,
) -> None:
    """``own`` and ``own_shingles``: the commentary's normalized text and its shingles."""
    if source is None or not source.ok:
        why = source.error if source and source.error else "it has not been fetched yet"
        verdict.reasons.append(
            Reason(
                SOURCE_UNCHECKED,
                f"the text of the Source {url} could not be compared ({why}); "
                "`engage check` fetches it again",
            )
        )
        return
    if verdict.analysis.commentary is None or source_text is None:
        return
    whole, whole_shingles = source_text
    if len(own.split()) < settings.short_text_words:
        copied = textmod.contains_phrase(own, whole)
        verdict.copy_containment = 1.0 if copied else 0.0
        if copied:
            verdict.reasons.append(
                Reason(
                    COPIED_FROM_SOURCE,
                    f"the whole commentary ({len(own.split())} words) "
                    f"appears word for word in the source {url}",
                )
            )
        return
    score = textmod.containment(own_shingles, whole_shingles)
    verdict.copy_containment = score
    if score >= settings.copy_threshold:
        verdict.reasons.append(
            Reason(
                COPIED_FROM_SOURCE,
                f"{_pct(score)} of the commentary's three-word phrases appear in the source "
                f"{url}, at most {_pct(settings.copy_threshold)} allowed",
            )
        )


def _judge_reuse(
    verdict: Verdict,
    normalized: str,
    shingles: set[Shingle],
    group: str,
    index: ReuseIndex,
    titles: Mapping[str, str],
    settings: GateSettings,
) -> None:
    """Compared with the earlier commentaries outside the post's translation ``group``."""
    if len(normalized.split()) < settings.short_text_words:
        earlier = index.exact_match(normalized, group)
        score = 1.0 if earlier else 0.0
    else:
        match = index.best_match(shingles, group)
        earlier, score = (match.key, match.containment) if match else (None, 0.0)
    verdict.reuse_containment = score
    if earlier and score >= settings.reuse_threshold:
        verdict.reused_from = earlier
        verdict.reasons.append(
            Reason(
                REUSED_COMMENTARY,
                f"{_pct(score)} of the commentary repeats the commentary of the earlier post "
                f"{titles.get(earlier, earlier)!r} ({earlier}), "
                f"at most {_pct(settings.reuse_threshold)} allowed",
            )
        )


class SiteVerdicts:
    """The verdicts of a whole site, computed on first use.

    Marking a post's commentary needs only that post's analysis; the rules
    that look across posts (reuse, copies of sources) run when a verdict is
    first asked for: by the verdict box of a local build or by an `engage`
    command. A production build, which shows no verdict, skips them.

    ``known`` holds results the commands saved earlier (gate/cache.py): an
    analysis or the site's verdicts found there are decoded, not computed.
    What was computed here is listed by :meth:`fresh`, for the commands to save.
    """

    def __init__(
        self,
        posts: Sequence[PostInput],
        sources: Mapping[str, SourceText],
        settings: GateSettings,
        *,
        judge: bool = True,
        known: cache.KnownResults | None = None,
    ) -> None:
        self._posts = list(posts)
        self._by_key = {p.key: p for p in self._posts}
        self._sources = sources
        self._settings = settings
        self._judge = judge  # False for pages: measured, never judged
        self._known = known or cache.KnownResults()
        self._keys: dict[str, str] = {}  # post key -> analysis key
        self._analyses: dict[str, PostAnalysis] = {}
        self._verdicts: dict[str, Verdict] | None = None
        self._fresh_analyses: dict[str, str] = {}  # analysis key -> JSON
        self._fresh_verdicts: tuple[str, str] | None = None  # (site key, JSON)

    def analysis_key(self, key: str) -> str:
        if key not in self._keys:
            self._keys[key] = cache.analysis_key(self._by_key[key].html, self._settings.headings)
        return self._keys[key]

    def analysis(self, key: str) -> PostAnalysis:
        if key not in self._analyses:
            akey = self.analysis_key(key)
            known = self._known.analyses.get(akey)
            if known is not None:
                self._analyses[key] = cache.decode_analysis(known)
            else:
                self._analyses[key] = analyze(self._by_key[key].html, self._settings.headings)
                self._fresh_analyses[akey] = cache.encode_analysis(self._analyses[key])
        return self._analyses[key]

    def __getitem__(self, key: str) -> Verdict:
        if self._verdicts is None:
            for post in self._posts:
                self.analysis(post.key)
            if self._judge:
                self._verdicts = self._site_verdicts()
            else:
                self._verdicts = {
                    p.key: Verdict(p.key, False, self._analyses[p.key]) for p in self._posts
                }
        return self._verdicts[key]

    def _site_verdicts(self) -> dict[str, Verdict]:
        keys = {p.key: self.analysis_key(p.key) for p in self._posts}
        site = cache.site_key(self._posts, keys, self._sources, self._settings)
        known = self._known.verdicts.get(site)
        if known is None:
            verdicts = evaluate(self._posts, self._sources, self._settings, self._analyses)
            self._fresh_verdicts = (site, cache.encode_verdicts(verdicts))
            return verdicts
        return {
            key: Verdict(
                key,
                self._by_key[key].candidate,
                self._analyses[key],
                [Reason(code, message) for code, message in reasons],
                copy,
                reuse,
                reused_from,
            )
            for key, (reasons, copy, reuse, reused_from) in cache.decode_verdicts(known).items()
        }

    def fresh(self) -> tuple[dict[str, str], tuple[str, str] | None]:
        """What was computed here, not found in ``known``: analyses by key, and the
        site's verdicts with their key (None when they were known or never asked for)."""
        return dict(self._fresh_analyses), self._fresh_verdicts

    def analysis_keys(self) -> list[str]:
        """The analysis key of every post: what the site needs from a cache."""
        return [self.analysis_key(p.key) for p in self._posts]

    def rejudge(self, sources: Mapping[str, SourceText]) -> None:
        """Judge again with fresher source texts (the analyses stay)."""
        self._sources = sources
        self._verdicts = None
