"""Optional semantic search with WordLlama (`pip install loxodon[semantic]`).

The model is the 256-dimension `l2_supercat` embedding table that ships inside the
`wordllama==0.4.0.post1` wheel, with its tokenizer config: both are loaded from the package
directory with downloads disabled (WordLlama's own lookup of the tokenizer in the package looks
in the wrong folder and would fall back to Hugging Face; pointing its cache at the package
directory finds both files). Nothing is fetched at run time.

Each article's embedding (float32, L2-normalised) is stored in `knowledge_search_doc.embedding`.
Searching keeps one numpy matrix of all embeddings per process; it is brought up to date from
the rows whose `generation` is newer than the one it was loaded at, so a write costs the next
search one small query, not a reload. The nearest articles are a dot product over the matrix
(about 3 ms at 50,000 articles).

Switch: the setting or environment variable `LOXODON_KB_SEMANTIC` ("0"/"false" off); default on
when the package imports.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from loxodon.knowledge.models import Audience
from loxodon.knowledge.search import index
from loxodon.knowledge.search.index import Doc, Scope

DIM = 256
COARSE_DIM = 64  # shortlist on this prefix of each vector (a quarter of the memory to scan)
SHORTLIST = 1000
MIN_SIMILARITY = 0.22  # below this a "nearest" article is noise (unrelated words score ~0.1)
_model: Any = None
_model_failed = False
_lock = threading.Lock()


def _setting() -> bool | None:
    value = getattr(settings, "LOXODON_KB_SEMANTIC", None)
    if value is None:
        value = os.environ.get("LOXODON_KB_SEMANTIC")
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("0", "false", "no", "off")


def model() -> Any:
    """The WordLlama model, loaded once per process from the wheel; None if not installed."""
    global _model, _model_failed
    if _model is not None or _model_failed:
        return _model
    with _lock:
        if _model is None and not _model_failed:
            try:
                import wordllama
                from wordllama import WordLlama

                package_dir = Path(wordllama.__file__).parent
                _model = WordLlama.load(
                    config="l2_supercat", dim=DIM, cache_dir=package_dir, disable_download=True
                )
            except (ImportError, FileNotFoundError, OSError):
                _model_failed = True
    return _model


def enabled(requested: bool | None = None) -> bool:
    """Semantic search on? `requested` (a caller's choice) over the setting; needs the package."""
    wanted = _setting() if requested is None else requested
    if wanted is False:
        return False
    return model() is not None


def document_text(doc: Doc) -> str:
    # Word-vector averaging dilutes a long body: the title counts twice, the body's start only.
    return f"{doc.title}. {doc.title}. {doc.tags} {doc.category}. {doc.body[:1500]}"


def embed(texts: list[str]) -> np.ndarray:
    m = model()
    vectors = m.embed(texts, norm=True)
    return np.asarray(vectors, dtype=np.float32).reshape(len(texts), DIM)


def embed_docs(docs: list[Doc]) -> list[bytes]:
    if not docs:
        return []
    return [v.tobytes() for v in embed([document_text(d) for d in docs])]


class _Matrix:
    """All embeddings of this process, patched from rows newer than `generation`."""

    def __init__(self) -> None:
        self.generation = -1
        self.ids: list[uuid.UUID] = []
        self.row: dict[uuid.UUID, int] = {}
        self.vectors = np.zeros((0, DIM), dtype=np.float32)
        self.coarse = np.zeros((0, COARSE_DIM), dtype=np.float32)
        self.public = np.zeros(0, dtype=bool)
        self.live = np.zeros(0, dtype=bool)
        self.internal = np.zeros(0, dtype=bool)
        self.category: list[str] = []
        self.lock = threading.Lock()

    def _reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def refresh(self) -> None:
        current = index.generation()
        if current == self.generation:
            return
        with self.lock:
            if current == self.generation:
                return
            changed = index.embeddings_since(self.generation)
            new_rows = [c for c in changed if c[0] not in self.row]
            if new_rows:
                n = len(self.ids)
                grow = len(new_rows)
                self.vectors = np.vstack([self.vectors, np.zeros((grow, DIM), np.float32)])
                self.coarse = np.vstack([self.coarse, np.zeros((grow, COARSE_DIM), np.float32)])
                self.public = np.concatenate([self.public, np.zeros(grow, bool)])
                self.live = np.concatenate([self.live, np.zeros(grow, bool)])
                self.internal = np.concatenate([self.internal, np.zeros(grow, bool)])
                for i, c in enumerate(new_rows):
                    self.row[c[0]] = n + i
                    self.ids.append(c[0])
                    self.category.append("")
            for article_id, audience, archived, category, blob in changed:
                i = self.row[article_id]
                if blob is not None and len(blob) == DIM * 4:
                    self.vectors[i] = np.frombuffer(blob, dtype=np.float32)
                    head = self.vectors[i, :COARSE_DIM]
                    self.coarse[i] = head / (np.linalg.norm(head) or 1.0)
                else:
                    self.vectors[i] = 0.0
                    self.coarse[i] = 0.0
                self.live[i] = not archived
                self.public[i] = audience == Audience.PUBLIC and not archived
                self.internal[i] = audience == Audience.INTERNAL
                self.category[i] = category
            self.generation = current
            if len(self.ids) != index.doc_count():  # rows removed (a rebuild): start over
                self._reset()
                self.refresh()

    def _mask(self, scope: Scope) -> np.ndarray:
        if scope.public_only:
            mask = self.public.copy()
        else:
            mask = np.ones(len(self.ids), bool) if scope.include_archived else self.live.copy()
            if scope.audience == Audience.PUBLIC:
                mask &= ~self.internal
            elif scope.audience == Audience.INTERNAL:
                mask &= self.internal
        if scope.category:
            mask &= np.array([c == scope.category for c in self.category], dtype=bool)
        return mask

    def nearest(self, vector: np.ndarray, scope: Scope, k: int) -> list[tuple[uuid.UUID, float]]:
        """Two stages: the first COARSE_DIM dimensions (Matryoshka-trained, so a prefix is a
        smaller embedding) shortlist SHORTLIST rows, the full vectors rank them."""
        if not self.ids:
            return []
        allowed = np.flatnonzero(self._mask(scope))
        if allowed.size == 0:
            return []
        if allowed.size > SHORTLIST:
            head = vector[:COARSE_DIM] / (np.linalg.norm(vector[:COARSE_DIM]) or 1.0)
            coarse = (
                self.coarse[allowed] @ head
                if allowed.size < len(self.ids) // 2
                else (self.coarse @ head)[allowed]
            )
            allowed = allowed[np.argpartition(-coarse, SHORTLIST)[:SHORTLIST]]
        scores = self.vectors[allowed] @ vector
        keep = scores >= MIN_SIMILARITY
        allowed, scores = allowed[keep], scores[keep]
        if allowed.size > k:
            top = np.argpartition(-scores, k)[:k]
            allowed, scores = allowed[top], scores[top]
        order = np.argsort(-scores)
        return [(self.ids[i], float(scores[j])) for j, i in zip(order, allowed[order], strict=True)]


_matrix = _Matrix()


def nearest(text: str, scope: Scope, k: int) -> list[tuple[uuid.UUID, float]]:
    """The `k` articles closest in meaning to `text` in `scope` (similarity ≥ MIN_SIMILARITY)."""
    if not text.strip() or model() is None:
        return []
    _matrix.refresh()
    return _matrix.nearest(embed([text])[0], scope, k)


def forget() -> None:
    """Drop this process's matrix (tests switch databases under it)."""
    global _matrix
    _matrix = _Matrix()
