"""Builds every swappable component from settings, once, and hands them to whoever needs them.

Nothing else reads settings to build the embedding model, the vector store, the LLM, the reranker
or the content sources. It sits above `components/`, `sources/` and `ingestion/` (which never import
it) and below the services that use it (retrieval, answering, the worker, the API).
The Chroma handle is (re)opened on demand, so a service that started while Chroma was down
recovers by itself once it is back.
"""

from __future__ import annotations

import threading
from functools import cached_property

from confluence_rag.components.embedding import Embedder, build_embedder
from confluence_rag.components.llm import build_llm
from confluence_rag.components.rate_limit import RedisRequestBudget, connect_redis, redacted
from confluence_rag.components.vector_store import (
    ChunkStore,
    VectorStoreUnavailable,
    build_chroma_client,
    open_chunk_store,
    reset_chunk_store,
)
from confluence_rag.ingestion.chunking import PageChunker
from confluence_rag.ingestion.indexer import Indexer, index_fingerprint
from confluence_rag.ingestion.source import PageSource
from confluence_rag.settings import Settings
from confluence_rag.sources.confluence import ConfluenceClient, ConfluenceSource, RequestBudget
from confluence_rag.sources.demo import DEMO_SPACE, DemoSource


class Components:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._store: ChunkStore | None = None
        self._lock = threading.Lock()

    @cached_property
    def embedder(self) -> Embedder:
        return build_embedder(self.settings)

    @cached_property
    def chunker(self) -> PageChunker:
        return PageChunker(self.embedder, self.settings.chunk_size, self.settings.chunk_overlap)

    @cached_property
    def llm(self):
        return build_llm(self.settings)

    @cached_property
    def reranker(self):
        """LlamaIndex's SentenceTransformerRerank on a local cross-encoder, or None (the default)."""
        if not self.settings.reranker_model:
            return None
        from llama_index.core.postprocessor import SentenceTransformerRerank

        return SentenceTransformerRerank(
            model=self.settings.reranker_model, top_n=self.settings.rerank_depth, device=self.settings.embedding_device
        )

    @property
    def fingerprint(self) -> dict[str, str]:
        return index_fingerprint(self.embedder, self.chunker)

    def store(self) -> ChunkStore:
        """The chunk store; raises VectorStoreUnavailable when Chroma cannot be reached.

        Connecting happens outside the lock: with a stalled server, each request waits at most
        CHROMA_TIMEOUT_S for its own attempt instead of queueing behind the others' attempts.
        """
        with self._lock:
            if self._store is not None:
                return self._store
        try:
            client = build_chroma_client(self.settings)
            store = open_chunk_store(client, self.settings.chroma_collection, self.fingerprint)
        except VectorStoreUnavailable:
            raise
        except Exception as exc:
            raise VectorStoreUnavailable(f"vector store unavailable: {type(exc).__name__}") from exc
        with self._lock:
            if self._store is None:
                self._store = store
            return self._store

    def forget_store(self) -> None:
        """Drop the handle after a connection failure so the next call reconnects."""
        with self._lock:
            self._store = None

    def reset_store(self) -> ChunkStore:
        with self._lock:
            client = self._store.client if self._store else build_chroma_client(self.settings)
            self._store = reset_chunk_store(client, self.settings.chroma_collection, self.fingerprint)
            return self._store

    def indexer(self) -> Indexer:
        return Indexer(self.store(), self.embedder, self.chunker)

    @cached_property
    def request_budget(self) -> RequestBudget | None:
        """The Confluence request budget shared by all workers (with BROKER_URL), else None."""
        url = self.settings.broker_url.get_secret_value()
        if not url:
            return None
        return RedisRequestBudget(
            connect_redis(url), self.settings.confluence_url, self.settings.confluence_rate_limit_per_s, redacted(url)
        )

    def source(self, space_key: str) -> PageSource:
        """A fresh source for one sync run of `space_key`: the demo wiki, or Confluence."""
        if space_key == DEMO_SPACE and self.settings.demo_content:
            return DemoSource()
        return ConfluenceSource(ConfluenceClient(self.settings, self.request_budget))
