"""BM25 over the chunks in Chroma, kept in step with it in every query-api replica.

Self-hosted Chroma has no BM25, so each replica holds in memory the posting lists of the chunk
texts (retrieval/bm25.py: the BM25 statistics are taken at query time over what the reader may
read). Writers bump a generation record in Chroma after every change; a replica looks at that
record at most every KEYWORD_REFRESH_S seconds and rebuilds in the background when it moved,
serving the previous index meanwhile. Queries never read the collection.

A rebuild re-reads the chunks but re-tokenizes only those whose text changed (tokenizing was most of
the cost), and rebuilds are rate-limited so that a replica under a long sync keeps answering at its
normal latency. Measured limits and the path past them: `make bench-keyword`, docs/design.md.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from confluence_rag import index_schema as keys
from confluence_rag.access.store import load_grants, load_groups
from confluence_rag.access.view import AccessView
from confluence_rag.components.vector_store import ChunkStore
from confluence_rag.retrieval.bm25 import Postings
from confluence_rag.retrieval.filters import SearchFilters
from confluence_rag.retrieval.text import KeywordAnalyzer

log = logging.getLogger(__name__)
READ_BATCH = 2000
REBUILD_DUTY = 0.25  # at most this share of wall time spent rebuilding (see _rebuild)


@dataclass
class _Snapshot:
    generation: str
    ids: list[str]
    texts: list[str]
    metadatas: list[dict]
    postings: Postings | None
    spaces: list[dict]  # per indexed space: key, pages, chunks (computed once per build)
    access: AccessView  # access keys, space grants and group members of this generation
    space_keys: list[str]  # distinct spaces, sorted
    chunk_space: np.ndarray  # per chunk: index into space_keys
    chunk_first: np.ndarray  # per chunk: 1 for chunk 0 of its page (counts pages)
    position: dict[str, int]  # chunk id → index in ids / texts / metadatas


@dataclass
class KeywordHit:
    id: str
    score: float
    text: str
    metadata: dict


def keyword_text(text: str, metadata: dict) -> str:
    """Title, breadcrumb and headings count as words of the chunk too."""
    return f"{metadata.get(keys.CONTEXT, '')}\n{text}"


def _space_counts(metadatas: list[dict]) -> list[dict]:
    counts: dict[str, dict] = {}
    for meta in metadatas:
        entry = counts.setdefault(meta.get(keys.SPACE_KEY, ""), {"pages": set(), "chunks": 0})
        entry["pages"].add(meta.get(keys.PAGE_ID))
        entry["chunks"] += 1
    return [{"key": k, "pages": len(v["pages"]), "chunks": v["chunks"]} for k, v in sorted(counts.items())]


class KeywordIndex:
    def __init__(self, analyzer: KeywordAnalyzer | None = None, refresh_s: float = 5.0):
        self.analyzer = analyzer or KeywordAnalyzer()
        self.refresh_s = refresh_s
        self._snapshot: _Snapshot | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._rebuilding = False
        self._next_build_at = 0.0
        self.last_build_s: dict[str, float] = {}  # read / tokenize / index seconds of the last build
        # Tokenizing is most of a rebuild: chunks whose keyword text is unchanged keep their token ids.
        self._vocab: dict[str, int] = {}
        self._tokens: dict[str, tuple[int, list[int]]] = {}  # chunk id → (hash of its keyword text, token ids)

    def _build(self, store: ChunkStore, generation: str) -> _Snapshot:
        started = time.perf_counter()
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict] = []
        offset = 0
        while True:
            got = store.collection.get(include=["documents", "metadatas"], limit=READ_BATCH, offset=offset)
            ids += got["ids"]
            texts += got["documents"]
            metas += got["metadatas"]
            if len(got["ids"]) < READ_BATCH:
                break
            offset += READ_BATCH
        read = time.perf_counter()
        corpus = self._token_ids(ids, texts, metas)
        tokenized = time.perf_counter()
        postings = Postings(corpus, len(self._vocab)) if ids else None
        done = time.perf_counter()
        self.last_build_s = {"read": read - started, "tokenize": tokenized - read, "index": done - tokenized}
        log.info("keyword index built: %d chunks (generation %s) in %.1fs", len(ids), generation, done - started)
        access = AccessView(metas, load_grants(store), load_groups(store))
        space_keys = sorted({str(m.get(keys.SPACE_KEY, "")) for m in metas})
        position = {k: i for i, k in enumerate(space_keys)}
        chunk_space = np.array([position[str(m.get(keys.SPACE_KEY, ""))] for m in metas], dtype=np.int32)
        chunk_first = np.array([m.get(keys.CHUNK_INDEX) == 0 for m in metas], dtype=np.float32)
        return _Snapshot(
            generation,
            ids,
            texts,
            metas,
            postings,
            _space_counts(metas),
            access,
            space_keys,
            chunk_space,
            chunk_first,
            {chunk_id: i for i, chunk_id in enumerate(ids)},
        )

    def _token_ids(self, ids: list[str], texts: list[str], metas: list[dict]) -> list[list[int]]:
        """Token ids of every chunk, tokenizing only chunks that are new or changed since the last build."""
        vocab, previous, kept = self._vocab, self._tokens, {}
        corpus = []
        for chunk_id, text, meta in zip(ids, texts, metas, strict=True):
            full = keyword_text(text, meta)
            digest = hash(full)
            cached = previous.get(chunk_id)
            if cached is not None and cached[0] == digest:
                tokens = cached[1]
            else:
                tokens = [vocab.setdefault(t, len(vocab)) for t in self.analyzer(full) or ["\x00"]]
            kept[chunk_id] = (digest, tokens)
            corpus.append(tokens)
        self._tokens = kept  # deleted chunks leave the cache
        return corpus

    @property
    def snapshot(self) -> _Snapshot | None:
        """The index currently served (None before the first sync)."""
        return self._snapshot

    def spaces(self, principals: frozenset[str] | None = None) -> list[dict]:
        """Spaces with their page and chunk counts; with `principals`, only what they may read."""
        snap = self._snapshot
        if snap is None:
            return []
        if principals is None:
            return snap.spaces
        readable = snap.access.readable(principals).chunks
        chunks = np.bincount(snap.chunk_space, weights=readable, minlength=len(snap.space_keys))
        pages = np.bincount(snap.chunk_space, weights=readable * snap.chunk_first, minlength=len(snap.space_keys))
        return [
            {"key": key, "pages": int(pages[i]), "chunks": int(chunks[i])}
            for i, key in enumerate(snap.space_keys)
            if chunks[i] > 0
        ]

    def sync(self, store: ChunkStore) -> None:
        """Make sure the index reflects Chroma (first call blocks; later ones refresh in background)."""
        now = time.monotonic()
        if self._snapshot is not None and now - self._checked_at < self.refresh_s:
            return
        self._checked_at = now
        generation = store.generation()
        if self._snapshot is not None and generation == self._snapshot.generation:
            return
        if self._snapshot is None:
            with self._lock:
                if self._snapshot is None:
                    self._snapshot = self._build(store, generation)
            return
        if not self._rebuilding and now >= self._next_build_at:
            self._rebuilding = True
            threading.Thread(target=self._rebuild, args=(store, generation), daemon=True).start()

    def _rebuild(self, store: ChunkStore, generation: str) -> None:
        started = time.monotonic()
        try:
            self._snapshot = self._build(store, generation)
        except Exception:
            log.exception("keyword index rebuild failed; keeping the previous one")
        finally:
            # Rate limit: a replica spends at most REBUILD_DUTY of its time rebuilding, however often
            # a long sync moves the generation (each batch does); the last state is always reached.
            elapsed = time.monotonic() - started
            self._next_build_at = time.monotonic() + elapsed * (1 - REBUILD_DUTY) / REBUILD_DUTY
            self._rebuilding = False

    def search(
        self, query: str, limit: int, filters: SearchFilters, principals: frozenset[str] | None = None
    ) -> list[KeywordHit]:
        """BM25 best `limit` chunks matching the filters and, with `principals`, readable by them.

        With `principals`, the BM25 statistics are those of the chunks they may read (retrieval/bm25.py):
        nothing they cannot read moves their scores."""
        snap = self._snapshot
        if snap is None or snap.postings is None:
            return []
        weights = None if principals is None else snap.access.readable(principals).chunks
        scores = snap.postings.scores(self.token_ids(query), weights)
        if filters.spaces or filters.labels:
            scores *= np.array([filters.matches(m) for m in snap.metadatas], dtype=np.float64)
        limit = min(limit, len(scores))
        # Ties are broken by chunk id, not by position in the snapshot (which other chunks move).
        kth = np.partition(scores, len(scores) - limit)[len(scores) - limit]
        tied_or_better = np.flatnonzero((scores >= kth) & (scores > 0))
        top = sorted(tied_or_better.tolist(), key=lambda i: (-scores[i], snap.ids[i]))[:limit]
        return [KeywordHit(snap.ids[i], float(scores[i]), snap.texts[i], snap.metadatas[i]) for i in top]

    def token_ids(self, query: str) -> list[int]:
        """The query's tokens that the served snapshot knows, as token ids (repeats kept)."""
        snap = self._snapshot
        known = 0 if snap is None or snap.postings is None else snap.postings.vocab_size
        ids = (self._vocab.get(token) for token in self.analyzer(query))
        return [i for i in ids if i is not None and i < known]
