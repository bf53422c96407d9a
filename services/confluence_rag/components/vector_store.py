"""The Chroma client and collections, built from settings.

CHROMA_HOST set → HTTP client to a Chroma server (the deployed topology); otherwise an embedded
PersistentClient on CHROMA_PATH (the `make run` default). Collections are created with
`embedding_function=None`: Chroma's default function would download an ONNX model at first use.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings
from llama_index.vector_stores.chroma import ChromaVectorStore

from confluence_rag.settings import Settings

GENERATION_ID = "generation"


class VectorStoreUnavailable(RuntimeError):
    """Chroma cannot be reached (server down, wrong host/port, no answer within CHROMA_TIMEOUT_S)."""


# What a call to a Chroma server raises when the server is down or stalls (chromadb talks httpx).
STORE_ERRORS: tuple[type[Exception], ...] = (VectorStoreUnavailable, httpx.TransportError)


def build_chroma_client(settings: Settings) -> ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_is_remote:
        return _http_client(settings, chroma_settings)
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def _http_client(settings: Settings, chroma_settings: ChromaSettings) -> ClientAPI:
    """chromadb.HttpClient with every request bounded by CHROMA_TIMEOUT_S.

    chromadb 1.5.9 builds its httpx session with `timeout=None` and has no setting for it: a server
    that accepts connections and never answers would hang every call. So: a heartbeat with the
    timeout first (a stopped or stalled server fails here, fast), then the client, whose session
    gets the timeout for every later call.
    """
    where = f"{settings.chroma_host}:{settings.chroma_port}"
    timeout = httpx.Timeout(settings.chroma_timeout_s)
    try:
        httpx.get(f"http://{where}/api/v2/heartbeat", timeout=timeout).raise_for_status()
        client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
    except Exception as exc:  # httpx errors, or chromadb's bare ValueError
        raise VectorStoreUnavailable(f"Chroma server {where} unreachable: {type(exc).__name__}") from exc
    client._server._session.timeout = timeout  # noqa: SLF001  (no public way in chromadb 1.5.9)
    return client


@dataclass
class ChunkStore:
    """The chunk collection plus a one-record side collection holding the index generation.

    Every writer bumps the generation after a change, so readers (the keyword index in each
    query-api replica) can tell cheaply whether to reload, without reading the collection.
    """

    client: ClientAPI
    collection: Collection
    meta: Collection

    @property
    def vector_store(self) -> ChromaVectorStore:
        return ChromaVectorStore(chroma_collection=self.collection)

    def bump_generation(self) -> str:
        value = f"{time.time():.6f}-{uuid.uuid4().hex[:8]}"
        self.meta.upsert(ids=[GENERATION_ID], documents=[""], metadatas=[{"value": value}], embeddings=[[0.0]])
        return value

    def fingerprint(self) -> dict[str, str]:
        return {k: str(v) for k, v in (self.collection.metadata or {}).items()}

    def put_record(self, record_id: str, kind: str, text: str) -> None:
        """Store a JSON document in the side collection (access tables), read by every replica."""
        self.meta.upsert(ids=[record_id], documents=[text], metadatas=[{"kind": kind}], embeddings=[[0.0]])

    def records(self, kind: str) -> dict[str, str]:
        """record id → document, for every side record of a kind."""
        got = self.meta.get(where={"kind": kind}, include=["documents"])
        return dict(zip(got["ids"], got["documents"], strict=True))

    def generation(self) -> str:
        got = self.meta.get(ids=[GENERATION_ID], include=["metadatas"])
        return str(got["metadatas"][0]["value"]) if got["ids"] else ""


def open_chunk_store(client: ClientAPI, name: str, fingerprint: dict[str, str]) -> ChunkStore:
    """Open (or create) the chunk collection.

    `fingerprint` (embedding model and chunking settings) is recorded on a new collection; an
    existing one keeps the fingerprint it was built with, so a mismatch can be detected.
    """
    collection = client.get_or_create_collection(
        name,
        embedding_function=None,
        configuration={"hnsw": {"space": "cosine", "ef_search": 400}},  # measured: default 100 misses ~10% top-1
        metadata=fingerprint,
    )
    meta = client.get_or_create_collection(f"{name}__meta", embedding_function=None)
    return ChunkStore(client=client, collection=collection, meta=meta)


def reset_chunk_store(client: ClientAPI, name: str, fingerprint: dict[str, str]) -> ChunkStore:
    """Drop and recreate the collection (a changed model or chunking must not mix vectors)."""
    for existing in (name, f"{name}__meta"):
        with contextlib.suppress(Exception):  # absent already: nothing to drop
            client.delete_collection(existing)
    store = open_chunk_store(client, name, fingerprint)
    store.bump_generation()
    return store
