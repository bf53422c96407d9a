"""Hybrid retrieval: Chroma vector search + BM25, fused by weighted reciprocal rank fusion.

Equal-weight RRF of MiniLM and BM25 was measured *worse* than BM25 alone on French questions, so
the two lists are weighted (VECTOR_WEIGHT, KEYWORD_WEIGHT); `make eval` compares the modes.
Results are deduplicated per page: one source per page, its best chunk.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

from llama_index.core.vector_stores.types import VectorStoreQuery

from confluence_rag.components.container import Components
from confluence_rag.retrieval.filters import SearchFilters
from confluence_rag.retrieval.keyword import KeywordIndex

SNIPPET_CHARS = 300


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


def _source(n: int, cand: _Candidate) -> Source:
    m = cand.metadata
    text = cand.text
    return Source(
        n=n,
        chunk_id=cand.chunk_id,
        page_id=str(m.get("page_id", "")),
        title=m.get("title", ""),
        url=m.get("anchor_url") or m.get("url", ""),
        space_key=m.get("space_key", ""),
        breadcrumb=json.loads(m.get("breadcrumb") or "[]"),
        heading=m.get("heading", ""),
        labels=json.loads(m.get("labels") or "[]"),
        last_modified=m.get("last_modified", ""),
        score=round(cand.score, 6),
        snippet=text[:SNIPPET_CHARS] + ("…" if len(text) > SNIPPET_CHARS else ""),
        text=text,
        context=m.get("context", ""),
    )


class SearchService:
    def __init__(self, components: Components, keyword_index: KeywordIndex | None = None):
        self.components = components
        self.settings = components.settings
        self.keyword = keyword_index or KeywordIndex(refresh_s=self.settings.keyword_refresh_s)
        self.last_timings: dict[str, float] = {}

    def spaces(self) -> list[dict]:
        store = self.components.store()
        self.keyword.sync(store)
        snap = self.keyword._snapshot
        counts: dict[str, dict] = {}
        for meta in snap.metadatas if snap else []:
            entry = counts.setdefault(meta.get("space_key", ""), {"pages": set(), "chunks": 0})
            entry["pages"].add(meta.get("page_id"))
            entry["chunks"] += 1
        return [{"key": k, "pages": len(v["pages"]), "chunks": v["chunks"]} for k, v in sorted(counts.items())]

    def search(
        self, query: str, top_k: int | None = None, filters: SearchFilters | None = None, mode: str | None = None
    ) -> list[Source]:
        top_k = top_k or self.settings.top_k
        filters = filters or SearchFilters()
        mode = mode or self.settings.retrieval_mode
        depth = max(self.settings.candidate_depth, top_k)
        store = self.components.store()
        timings: dict[str, float] = {}
        ranked: list[tuple[float, list[_Candidate]]] = []

        if mode in ("hybrid", "keyword"):
            start = time.perf_counter()
            self.keyword.sync(store)
            hits = self.keyword.search(query, depth, filters)
            timings["keyword_ms"] = (time.perf_counter() - start) * 1000
            ranked.append((self.settings.keyword_weight, [_Candidate(h.id, h.text, h.metadata, h.score) for h in hits]))
        if mode in ("hybrid", "vector"):
            start = time.perf_counter()
            embedding = self.components.embedder.model.get_query_embedding(query)
            timings["embed_ms"] = (time.perf_counter() - start) * 1000
            start = time.perf_counter()
            result = store.vector_store.query(
                VectorStoreQuery(query_embedding=embedding, similarity_top_k=depth),
                where=filters.chroma_where(),
            )
            timings["vector_ms"] = (time.perf_counter() - start) * 1000
            cands = [
                _Candidate(node.node_id, node.get_content(), node.metadata, sim)
                for node, sim in zip(result.nodes or [], result.similarities or [], strict=False)
            ]
            ranked.append((self.settings.vector_weight, cands))

        fused = ranked[0][1] if len(ranked) == 1 else self._fuse(ranked)
        self.last_timings = timings
        best_per_page: dict[str, _Candidate] = {}
        for cand in fused:
            best_per_page.setdefault(str(cand.metadata.get("page_id")), cand)
            if len(best_per_page) >= top_k:
                break
        return [_source(i + 1, c) for i, c in enumerate(best_per_page.values())]

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
