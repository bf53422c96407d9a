"""Hybrid retrieval: Chroma vector search + BM25, fused, one source per page (its best chunk).

Fusion (FUSION), measured by `make eval` against keyword-only and vector-only on French and English:

- `score` (default): distribution-based score fusion (DBSF: Qdrant's fusion of that name,
  LlamaIndex's `dist_based_score`) over the union of both candidate lists. Each chunk of the union
  has two scores, its BM25 (0 when BM25 did not return it) and its cosine to the query; each is
  scaled by its own spread over the union, x → (x − (μ − 3σ)) / 6σ, then
      fused = (KEYWORD_WEIGHT · keyword + VECTOR_WEIGHT · vector) / (KEYWORD_WEIGHT + VECTOR_WEIGHT).
  Keyword candidates that the vector search did not return get their *real* cosine (their stored
  embeddings are fetched from Chroma and compared with the query), instead of counting as 0: with
  MiniLM on French the right page is often outside the vector top-k, and a missing score would let
  a wrong vector hit jump over it. The statistics are taken over the union, not over each list as
  in Qdrant and LlamaIndex, because here every candidate has both scores (per-list statistics
  measured worse in French). Why the spread rather than min-max (the formula until issue 18): a
  minimum and a maximum are each set by one candidate (the least similar chunk of the union, the
  best BM25 chunk), the spread by all of them. Replayed on the same candidates it ranks pages and
  cites passages as well or slightly better on every large set (a small gain: docs/eval/sections.md).
  Scale-free like min-max: another embedding model (other cosine range) or corpus size needs no
  retuning of the formula, only of the weights.
- `rrf`: weighted reciprocal rank fusion, Σ weight / (RRF_K + rank). Kept for comparison: with
  MiniLM, equal-weight RRF (and even 1 : 0.5) ranks below BM25 alone on French at hit@1.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import partial

import numpy as np
from llama_index.core.schema import NodeWithScore, TextNode

from confluence_rag import index_schema as keys
from confluence_rag.access.view import CurrentAccess, Readable, chroma_access_where
from confluence_rag.auth.identity import ANONYMOUS, Identity
from confluence_rag.components.metrics import observe_retrieval
from confluence_rag.container import Components
from confluence_rag.retrieval.filters import SearchFilters
from confluence_rag.retrieval.keyword import KeywordIndex

SNIPPET_CHARS = 300
# Vector search with permissions (see `SearchService._vector`): post-filter an oversampled query when
# the identity may read at least this share of the chunks, else let Chroma filter.
POST_FILTER_MIN_SHARE = 0.2
POST_FILTER_OVERSAMPLE = 2.0
POST_FILTER_MAX_K = 2000


@dataclass
class Source:
    n: int
    chunk_id: str
    page_id: str
    title: str
    url: str
    space_key: str
    breadcrumb: list[str]
    heading: str
    labels: list[str]
    last_modified: str
    score: float
    snippet: str
    text: str
    context: str = field(repr=False, default="")

    def public(self) -> dict:
        data = asdict(self)
        data.pop("context")
        return data


@dataclass
class _Candidate:
    chunk_id: str
    text: str
    metadata: dict
    score: float = 0.0
    cosine: float | None = None  # similarity to the query, when known


_MARKDOWN_NOISE = [
    (re.compile(r"```[\w+-]*"), " "),  # code fences
    (re.compile(r"^\s*\|?(\s*:?-{3,}:?\s*\|)+\s*$", re.M), " "),  # table separator rows
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links and images → their text
    (re.compile(r"^\s{0,3}(#{1,6}|>|[-*+]|\d+\.)\s+", re.M), ""),  # headings, quotes, list markers
    (re.compile(r"(\*\*|__|`|\|)"), " "),  # emphasis, code, table pipes
    (re.compile(r"\s+"), " "),
]


def snippet(markdown: str) -> str:
    """The start of a chunk as plain text (clients show it as is)."""
    text = markdown
    for pattern, replacement in _MARKDOWN_NOISE:
        text = pattern.sub(replacement, text)
    text = text.strip()
    return text[:SNIPPET_CHARS].rstrip() + ("…" if len(text) > SNIPPET_CHARS else "")


def _source(n: int, cand: _Candidate) -> Source:
    m = cand.metadata
    text = cand.text
    return Source(
        n=n,
        chunk_id=cand.chunk_id,
        page_id=str(m.get(keys.PAGE_ID, "")),
        title=m.get(keys.TITLE, ""),
        url=m.get(keys.ANCHOR_URL) or m.get(keys.URL, ""),
        space_key=m.get(keys.SPACE_KEY, ""),
        breadcrumb=json.loads(m.get(keys.BREADCRUMB) or "[]"),
        heading=m.get(keys.HEADING, ""),
        labels=json.loads(m.get(keys.LABELS) or "[]"),
        last_modified=m.get(keys.LAST_MODIFIED, ""),
        score=round(cand.score, 6),
        snippet=snippet(text),
        text=text,
        context=m.get(keys.CONTEXT, ""),
    )


class SearchService:
    def __init__(self, components: Components, keyword_index: KeywordIndex | None = None):
        self.components = components
        self.settings = components.settings
        self.keyword = keyword_index or KeywordIndex(refresh_s=self.settings.keyword_refresh_s)
        self.current_access = CurrentAccess()
        self.last_timings: dict[str, float] = {}

    def principals(self, identity: Identity) -> frozenset[str] | None:
        """The identity's principals for filtering (None: permissions off, everything is readable).

        Call after `keyword.sync`: group memberships come with the keyword snapshot."""
        if not self.settings.permissions_enabled:
            return None
        snap = self.keyword.snapshot
        if snap is None:
            return frozenset()
        return snap.access.principals(identity, self.settings.groups_source)

    def spaces(self, identity: Identity = ANONYMOUS) -> list[dict]:
        """Spaces the identity may read, with the pages and chunks it may read (from the keyword index).

        With permissions, a space the identity may no longer view (its grant as Chroma holds it now)
        is left out at once; the counts follow the keyword snapshot (a restriction shows in them
        after its rebuild)."""
        store = self.components.store()
        self.keyword.sync(store)
        spaces = self.keyword.spaces(self.principals(identity))
        if not self.settings.permissions_enabled:
            return spaces
        self.current_access.refresh(store)
        principals = self.current_access.principals(identity, self.settings.groups_source)
        return [s for s in spaces if self.current_access.may_view(principals, s["key"])]

    def readable_chunks(self, chunk_ids: Sequence[str], identity: Identity = ANONYMOUS) -> set[str]:
        """Those of `chunk_ids` the identity may read now (a reopened conversation's sources).

        A chunk no longer in the index counts as unreadable: its page was deleted or moved out."""
        self.keyword.sync(self.components.store())
        snap = self.keyword.snapshot
        if snap is None:
            return set()
        present = [c for c in chunk_ids if c in snap.position]
        if not self.settings.permissions_enabled:
            return set(present)
        readable = snap.access.readable(snap.access.principals(identity, self.settings.groups_source))
        return {c for c in present if readable.chunks[snap.position[c]]}

    def indexed_pages(self) -> list[dict]:
        """Every indexed page once (page_id, title, space_key, url): for operators' analytics."""
        self.keyword.sync(self.components.store())
        snap = self.keyword.snapshot
        pages: dict[str, dict] = {}
        for meta in snap.metadatas if snap else []:
            page_id = str(meta.get(keys.PAGE_ID, ""))
            pages.setdefault(
                page_id,
                {
                    "page_id": page_id,
                    "title": meta.get(keys.TITLE, ""),
                    "space_key": meta.get(keys.SPACE_KEY, ""),
                    "url": meta.get(keys.URL, ""),
                },
            )
        return sorted(pages.values(), key=lambda p: (p["space_key"], p["title"]))

    def search(
        self,
        query: str,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        mode: str | None = None,
        identity: Identity = ANONYMOUS,
    ) -> list[Source]:
        top_k = top_k or self.settings.top_k
        filters = filters or SearchFilters()
        mode = mode or self.settings.retrieval_mode
        depth = max(self.settings.candidate_depth, top_k)
        store = self.components.store()
        timings: dict[str, float] = {}
        ranked: list[tuple[float, list[_Candidate]]] = []
        principals = None
        readable: Readable | None = None
        snap = None
        if self.settings.permissions_enabled:
            start = time.perf_counter()
            self.keyword.sync(store)  # group memberships and access keys come with the snapshot
            snap = self.keyword.snapshot
            principals = snap.access.principals(identity, self.settings.groups_source) if snap else frozenset()
            readable = snap.access.readable(principals) if snap else None
            timings["access_ms"] = (time.perf_counter() - start) * 1000
            if readable is None or not readable.key_set:
                self.last_timings = timings
                observe_retrieval(timings)
                return []  # nothing this identity may read

        if mode in ("hybrid", "keyword"):
            start = time.perf_counter()
            self.keyword.sync(store)
            hits = self.keyword.search(query, depth, filters, principals)
            timings["keyword_ms"] = (time.perf_counter() - start) * 1000
            ranked.append((self.settings.keyword_weight, [_Candidate(h.id, h.text, h.metadata, h.score) for h in hits]))
        if mode in ("hybrid", "vector"):
            start = time.perf_counter()
            embedding = self.components.embedder.model.get_query_embedding(query)
            timings["embed_ms"] = (time.perf_counter() - start) * 1000
            start = time.perf_counter()
            cands = self._vector(store, embedding, depth, filters, readable, snap)
            timings["vector_ms"] = (time.perf_counter() - start) * 1000
            ranked.append((self.settings.vector_weight, cands))

        if len(ranked) == 1:
            fused = ranked[0][1]
        elif self.settings.fusion == "rrf":
            fused = self._fuse(ranked)
        else:
            start = time.perf_counter()
            keyword_cands, vector_cands = ranked[0][1], ranked[1][1]
            self._add_cosines(store, embedding, keyword_cands, {c.chunk_id for c in vector_cands})
            timings["rescore_ms"] = (time.perf_counter() - start) * 1000
            fused = fuse_scores(keyword_cands, vector_cands, self.settings.keyword_weight, self.settings.vector_weight)
        if self.components.reranker is not None:
            start = time.perf_counter()
            _fill_text(store, fused[: self.settings.rerank_depth])
            fused = self._rerank(query, fused)
            timings["rerank_ms"] = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        chosen = self._results(store, fused, top_k, identity)
        timings["fetch_ms"] = (time.perf_counter() - start) * 1000
        self.last_timings = timings
        observe_retrieval(timings)
        return [_source(i + 1, c) for i, c in enumerate(chosen)]

    def _results(self, store, fused: list[_Candidate], top_k: int, identity: Identity) -> list[_Candidate]:
        """The best chunk of each of the `top_k` best pages, as Chroma holds it now.

        Candidates were ranked on the replica's keyword snapshot, which may predate the last change
        (its rebuild runs in the background). So each one is read back from Chroma (a deleted chunk
        is dropped) and, with permissions, checked against the access Chroma holds now: a page
        whose access was revoked since the snapshot is dropped and the next page takes its place."""
        allows = None
        if self.settings.permissions_enabled:
            self.current_access.refresh(store)
            principals = self.current_access.principals(identity, self.settings.groups_source)
            allows = partial(self.current_access.allows, principals)
        chosen: list[_Candidate] = []
        done: set[str] = set()  # pages chosen or refused (a page's chunks share its access)
        remaining = iter(fused)
        while len(chosen) < top_k:
            batch: dict[str, _Candidate] = {}  # the next best page's best chunk, for each missing result
            for cand in remaining:
                page = _page_of(cand)
                if page not in done and page not in batch:
                    batch[page] = cand
                    if len(chosen) + len(batch) >= top_k:
                        break
            if not batch:
                break
            fresh = {c.chunk_id: c for c in _read_now(store, list(batch.values()))}
            for page, cand in batch.items():
                now = fresh.get(cand.chunk_id)
                if now is None:
                    continue  # deleted since it was ranked
                done.add(page)
                if allows is None or allows(now.metadata):
                    chosen.append(now)
        return chosen

    def _vector(
        self, store, embedding: list[float], depth: int, filters: SearchFilters, readable: Readable | None, snap
    ) -> list[_Candidate]:
        """The `depth` best chunks by cosine among those matching the filters and readable.

        With permissions, when the identity may read at least POST_FILTER_MIN_SHARE of the index, one
        oversampled query asks Chroma for ids and distances only, and readability, text and metadata
        come from the keyword snapshot the access decision was made on (a chunk it does not hold is
        skipped). If that leaves fewer than `depth` chunks while Chroma may hold more, the query is
        redone with Chroma's own access filter (tens of ms slower on 13,000 chunks). Either way
        nothing is cut before it is filtered."""
        if readable is not None and snap is not None and readable.fraction >= POST_FILTER_MIN_SHARE:
            k = depth if readable.everything else math.ceil(depth * POST_FILTER_OVERSAMPLE / readable.fraction)
            k = min(POST_FILTER_MAX_K, k)
            got = store.collection.query(
                query_embeddings=[embedding], n_results=k, where=filters.chroma_where(), include=["distances"]
            )
            ids, distances = got["ids"][0], got["distances"][0]
            allowed = []
            for chunk_id, distance in zip(ids, distances, strict=True):
                i = snap.position.get(chunk_id)
                if i is not None and readable.chunks[i]:
                    # Same scores as ChromaVectorStore: exp(-distance); cosine = 1 - distance.
                    allowed.append(
                        _Candidate(chunk_id, snap.texts[i], snap.metadatas[i], math.exp(-distance), 1.0 - distance)
                    )
            if len(allowed) >= depth or len(ids) < k:  # enough, or Chroma returned everything it has
                return allowed[:depth]
        if readable is None:
            return _vector_candidates(store, embedding, depth, filters.chroma_where())
        where = _and(filters.chroma_where(), chroma_access_where(readable))
        cands = _fill_text(store, _vector_candidates(store, embedding, depth, where))
        return [c for c in cands if c.metadata.get(keys.ACCESS_KEY) in readable.key_set]

    def _rerank(self, query: str, fused: list[_Candidate]) -> list[_Candidate]:
        """Rescore the best RERANK_DEPTH candidates with the cross-encoder; the rest keep their order after."""
        head, tail = fused[: self.settings.rerank_depth], fused[self.settings.rerank_depth :]
        by_id = {c.chunk_id: c for c in head}
        nodes = [NodeWithScore(node=TextNode(id_=c.chunk_id, text=c.text), score=c.score) for c in head]
        reranked = self.components.reranker.postprocess_nodes(nodes, query_str=query)
        ordered = [by_id[n.node.node_id] for n in reranked]
        for cand, node in zip(ordered, reranked, strict=True):
            cand.score = float(node.score or 0.0)
        return ordered + tail

    @staticmethod
    def _add_cosines(store, query_embedding: list[float], cands: list[_Candidate], known: set[str]) -> None:
        """Give keyword candidates the vector search did not return their cosine to the query."""
        missing = [c for c in cands if c.chunk_id not in known]
        if not missing:
            return
        got = store.collection.get(ids=[c.chunk_id for c in missing], include=["embeddings"])
        if not got["ids"]:
            return
        vectors = np.asarray(got["embeddings"], dtype=np.float32)
        query = np.asarray(query_embedding, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1) * (np.linalg.norm(query) or 1.0)
        cosines = dict(zip(got["ids"], (vectors @ query / np.where(norms > 0, norms, 1.0)).tolist(), strict=True))
        for cand in missing:
            cand.cosine = cosines.get(cand.chunk_id)

    def _fuse(self, ranked: list[tuple[float, list[_Candidate]]]) -> list[_Candidate]:
        k = self.settings.rrf_k
        by_id: dict[str, _Candidate] = {}
        scores: dict[str, float] = {}
        for weight, cands in ranked:
            for rank, cand in enumerate(cands):
                by_id.setdefault(cand.chunk_id, cand)
                scores[cand.chunk_id] = scores.get(cand.chunk_id, 0.0) + weight / (k + rank + 1)
        fused = [_Candidate(cid, by_id[cid].text, by_id[cid].metadata, s) for cid, s in scores.items()]
        return sorted(fused, key=lambda c: c.score, reverse=True)


def _and(*clauses: dict | None) -> dict | None:
    present = [c for c in clauses if c]
    if not present:
        return None
    return present[0] if len(present) == 1 else {"$and": present}


def _vector_candidates(store, embedding: list[float], depth: int, where: dict | None) -> list[_Candidate]:
    """The `depth` nearest chunks, read back as ids and distances only (no text, no metadata).

    Fusion needs nothing more; the few chunks that end up as results get their text and metadata
    from `_read_now`. (Reading 40 documents with metadata per query cost ~17 of 37 ms on 13k chunks.)
    """
    got = store.collection.query(query_embeddings=[embedding], n_results=depth, where=where, include=["distances"])
    ids, distances = got["ids"][0], got["distances"][0]
    # Cosine collection: distance = 1 - cosine. The score is what ChromaVectorStore reported, exp(-distance).
    return [_Candidate(cid, "", {}, math.exp(-d), 1.0 - d) for cid, d in zip(ids, distances, strict=True)]


def _page_of(cand: _Candidate) -> str:
    """The chunk's page: from its metadata, or from its id (`page_id#n`) before its text is read."""
    if cand.metadata:
        return str(cand.metadata.get(keys.PAGE_ID))
    return cand.chunk_id.rsplit("#", 1)[0]


def _fill_text(store, cands: list[_Candidate]) -> list[_Candidate]:
    """Reads text and metadata for the candidates that only have an id (one Chroma call).

    A chunk deleted since the vector query (a sync running) is dropped.
    """
    missing = [c.chunk_id for c in cands if not c.metadata]
    if not missing:
        return cands
    got = store.collection.get(ids=missing, include=["documents", "metadatas"])
    found = {
        cid: (doc or "", meta or {})
        for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
    }
    for cand in cands:
        if not cand.metadata and cand.chunk_id in found:
            cand.text, cand.metadata = found[cand.chunk_id]
    return [c for c in cands if c.metadata]


def _read_now(store, cands: list[_Candidate]) -> list[_Candidate]:
    """The candidates with their text and metadata as Chroma holds them now (one call); a chunk
    deleted since it was ranked is dropped."""
    got = store.collection.get(ids=[c.chunk_id for c in cands], include=["documents", "metadatas"])
    found = dict(zip(got["ids"], zip(got["documents"], got["metadatas"], strict=True), strict=True))
    fresh = []
    for cand in cands:
        if cand.chunk_id in found:
            text, meta = found[cand.chunk_id]
            fresh.append(_Candidate(cand.chunk_id, text or "", meta or {}, cand.score, cand.cosine))
    return fresh


def fuse_scores(
    keyword: list[_Candidate], vector: list[_Candidate], keyword_weight: float, vector_weight: float
) -> list[_Candidate]:
    """Distribution-based fusion of BM25 and cosine over the union of both lists (see module doc).

    `keyword` carries BM25 scores (best first); every candidate may carry `cosine` (None = unknown,
    counted as the lowest cosine of the union).
    """
    total = keyword_weight + vector_weight
    wk, wv = (keyword_weight / total, vector_weight / total) if total > 0 else (0.5, 0.5)
    by_id: dict[str, _Candidate] = {}
    bm25: dict[str, float] = {}
    for cand in keyword:
        by_id[cand.chunk_id] = cand
        bm25[cand.chunk_id] = cand.score
    for cand in vector:
        known = by_id.setdefault(cand.chunk_id, cand)
        if known.cosine is None:
            known.cosine = cand.cosine
    union = list(by_id.values())
    if not union:
        return []
    known_cosines = [c.cosine for c in union if c.cosine is not None]
    lowest = min(known_cosines, default=0.0)
    keyword_part = _spread_scaled(np.array([bm25.get(c.chunk_id, 0.0) for c in union]))
    vector_part = _spread_scaled(np.array([lowest if c.cosine is None else c.cosine for c in union]))
    fused = [
        _Candidate(c.chunk_id, c.text, c.metadata, float(wk * k + wv * v), c.cosine)
        for c, k, v in zip(union, keyword_part, vector_part, strict=True)
    ]
    return sorted(fused, key=lambda c: c.score, reverse=True)


def _spread_scaled(scores: np.ndarray) -> np.ndarray:
    """(x − (μ − 3σ)) / 6σ: about 0..1 for the bulk of the scores; all 0.5 when they are all equal."""
    sigma = float(scores.std())
    if sigma == 0:
        return np.full(len(scores), 0.5)
    return (scores - (scores.mean() - 3 * sigma)) / (6 * sigma)
