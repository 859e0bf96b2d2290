""" "Did you mean …": the nearest indexed word (Levenshtein, rapidfuzz) for each unknown word.

The vocabulary (`knowledge_search_term`) counts, per word, the live articles that contain it and
the live public ones: the public never gets a suggestion that only an internal article contains.
Each process keeps the words by length, refreshed when the index generation moves.
"""

from __future__ import annotations

import threading
from collections import defaultdict

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from loxodon.knowledge.search import index


class _Vocabulary:
    def __init__(self) -> None:
        self.generation = -1
        self.df: dict[str, tuple[int, int]] = {}
        self.by_length: dict[bool, dict[int, list[str]]] = {}
        self.lock = threading.Lock()

    def refresh(self) -> None:
        current = index.generation()
        if current == self.generation:
            return
        with self.lock:
            if current == self.generation:
                return
            for term, public_df, all_df in index.terms_since(self.generation):
                self.df[term] = (public_df, all_df)
            self.generation = current
            self.by_length = {}
            if len(self.df) != index.term_count():  # rows went away (rebuild, rollback)
                self.generation, self.df = -1, {}
                for term, public_df, all_df in index.terms_since(-1):
                    self.df[term] = (public_df, all_df)
                self.generation = current

    def _bucket(self, public_only: bool) -> dict[int, list[str]]:
        bucket = self.by_length.get(public_only)
        if bucket is None:
            grouped: dict[int, list[str]] = defaultdict(list)
            for term, (public_df, all_df) in self.df.items():
                if (public_df if public_only else all_df) > 0:
                    grouped[len(term)].append(term)
            bucket = self.by_length[public_only] = dict(grouped)
        return bucket

    def known(self, word: str, public_only: bool) -> bool:
        counts = self.df.get(word)
        return bool(counts and counts[0 if public_only else 1] > 0)

    def closest(self, word: str, public_only: bool) -> str | None:
        longest = 1 if len(word) <= 4 else 2
        bucket = self._bucket(public_only)
        best: tuple[int, int, str] | None = None
        for length in range(len(word) - longest, len(word) + longest + 1):
            choices = bucket.get(length)
            if not choices:
                continue
            for term, distance, _ in process.extract(
                word, choices, scorer=Levenshtein.distance, score_cutoff=longest, limit=5
            ):
                df = self.df[term][0 if public_only else 1]
                key = (int(distance), -df, term)
                if best is None or key < best:
                    best = key
        return best[2] if best else None


_vocabulary = _Vocabulary()


def correct(words: list[str], public_only: bool) -> str | None:
    """The query with unknown words replaced by their nearest indexed word; None if every word
    is known or nothing close exists."""
    _vocabulary.refresh()
    changed, out = False, []
    for word in words:
        if any(ch.isdigit() for ch in word) or len(word) < 3:
            out.append(word)
            continue
        if _vocabulary.known(word, public_only):
            out.append(word)
            continue
        fix = _vocabulary.closest(word, public_only)
        if fix and fix != word:
            changed = True
            out.append(fix)
        else:
            out.append(word)
    return " ".join(out) if changed else None


def informative(words: list[str], public_only: bool, keep: int = 6) -> list[str]:
    """The `keep` rarest of `words` that some article contains (rare words say the most about
    a problem; a word in most articles only costs ranking time), in their original order."""
    _vocabulary.refresh()
    col = 0 if public_only else 1
    known = [(w, _vocabulary.df[w][col]) for w in words if w in _vocabulary.df]
    known = [(w, df) for w, df in known if df > 0]
    codes = [w for w in words if w not in _vocabulary.df and any(c.isdigit() for c in w)]
    chosen = {w for w, _ in sorted(known, key=lambda item: item[1])[:keep]} | set(codes[:2])
    return [w for w in words if w in chosen] or words[:keep]


def forget() -> None:
    global _vocabulary
    _vocabulary = _Vocabulary()
