"""An inverted index of earlier commentaries, to catch boilerplate takes.

Each commentary is stored as its set of word shingles; a query walks only the
posting lists of its own shingles, so finding the earlier commentary that
contains most of a new one costs time proportional to the overlap, not to
the number of posts (a pairwise scan of thousands of posts would be quadratic).

Commentaries of one group (a post and its translations: an untranslated copy is
no boilerplate) are never matched with each other.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import chain

from .text import Shingle

# A phrase used in many earlier commentaries needs to point at the first few of
# them only: a new commentary repeating that boilerplate still meets the
# earliest ones in every posting list of the boilerplate, and the cap bounds
# the counting work of very common phrases ("i think that").
POSTINGS_CAP = 64


@dataclass(frozen=True)
class Match:
    key: str
    containment: float


class ReuseIndex:
    def __init__(self) -> None:
        self._postings: defaultdict[Shingle, list[int]] = defaultdict(list)
        self._keys: list[str] = []
        self._groups: list[str] = []
        self._by_group: defaultdict[str, list[int]] = defaultdict(list)
        # normalized short text -> its first doc, and the first of another group
        self._exact: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def add(
        self, key: str, normalized: str, shingles: set[Shingle], group: str | None = None
    ) -> None:
        """Index a commentary; ``group`` (default: its own key) names its translation group."""
        doc = len(self._keys)
        group = group or key
        self._keys.append(key)
        self._groups.append(group)
        self._by_group[group].append(doc)
        same = self._exact.setdefault(normalized, [doc])
        if len(same) == 1 and self._groups[same[0]] != group:
            same.append(doc)
        postings = self._postings
        for shingle in shingles:
            docs = postings[shingle]
            if len(docs) < POSTINGS_CAP:
                docs.append(doc)

    def best_match(self, shingles: set[Shingle], group: str | None = None) -> Match | None:
        """The indexed commentary that contains the largest share of ``shingles``,
        outside ``group``."""
        if not shingles:
            return None
        postings = self._postings
        # One Counter over every posting list: the counting loop runs in C.
        overlap: Counter[int] = Counter(
            chain.from_iterable(postings[s] for s in shingles if s in postings)
        )
        for doc in self._by_group.get(group, ()) if group else ():
            overlap.pop(doc, None)
        if not overlap:
            return None
        doc, shared = overlap.most_common(1)[0]
        return Match(self._keys[doc], shared / len(shingles))

    def exact_match(self, normalized: str, group: str | None = None) -> str | None:
        """The first indexed commentary outside ``group`` with exactly this text (for
        very short ones)."""
        docs = self._exact.get(normalized, []) if normalized else []
        return next((self._keys[d] for d in docs if not group or self._groups[d] != group), None)
