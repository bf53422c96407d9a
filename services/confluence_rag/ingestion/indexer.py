"""Pages → chunks → embeddings → Chroma, idempotently.

Chroma is the single source of truth: every chunk carries its page's content hash, so a run
compares what it fetched with what the index holds, re-embeds only changed pages, and replaces
a page's chunks as a unit (deterministic ids `page_id#n`). An interrupted run therefore resumes
without duplicates: pages already written are unchanged next time, the rest are redone.
We do not use an IngestionPipeline docstore for this: it would be a second store to keep in step
with Chroma (a wiped Chroma volume next to a surviving docstore would index nothing).

Throughput: the embedding model is the bottleneck, so everything else runs beside it. A thread
fetches pages ahead (`_prefetch`), the main thread chunks and embeds a batch of pages, and a writer
thread stores the previous batch in Chroma (one delete and one add per batch: per-page adds cost
~7 ms each on embedded Chroma). Chunks are embedded shortest first (`ByLength`), so each model
batch pads to similar lengths instead of to the longest chunk of a random mix.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.schema import BaseNode, Document, MetadataMode, TransformComponent

from confluence_rag import index_schema as keys
from confluence_rag.access.rule import SpaceAccess
from confluence_rag.access.store import access_metadata
from confluence_rag.components.embedding import Embedder
from confluence_rag.components.vector_store import ChunkStore
from confluence_rag.ingestion.chunking import PageChunker
from confluence_rag.ingestion.models import Page

log = logging.getLogger(__name__)

# Bumped when conversion or chunking changes what chunks hold: the next sync of each space is then
# a full one, so pages unchanged in Confluence are converted again (2: Confluence macros, tables,
# block-aware splitting, section anchors; issue 18).
CHUNKER_VERSION = "2"
PAGE_BATCH = 32  # pages chunked and embedded together (~140 chunks): the unit of progress and of writes
DELETE_BATCH = 500  # page ids per Chroma delete when pages leave the index


@dataclass(frozen=True)
class IndexedPage:
    page_hash: str
    listing_sig: str


@dataclass
class SyncStats:
    mode: str = ""  # full | incremental
    pages_seen: int = 0  # pages in scope (from the listing; full runs: pages fetched)
    pages_total: int = 0  # pages to fetch in this run, when known
    pages_done: int = 0
    pages_added: int = 0
    pages_updated: int = 0
    pages_unchanged: int = 0
    pages_deleted: int = 0
    pages_failed: int = 0
    chunks_written: int = 0
    failures: list[str] = field(default_factory=list)
    access_pages_updated: int = 0  # pages whose read access changed in place (no re-embedding)
    access_problems: list[str] = field(default_factory=list)  # permission data that could not be read (denied)

    def as_dict(self) -> dict:
        return asdict(self)


ProgressFn = Callable[[SyncStats], None]


def index_fingerprint(embedder: Embedder, chunker: PageChunker) -> dict[str, str]:
    fingerprint = {
        "embedding_model": embedder.name,
        "passage_prefix": embedder.passage_prefix,
        "max_embed_tokens": str(chunker.max_embed_tokens),
        "chunk_overlap": str(chunker.chunk_overlap),
        "chunker_version": CHUNKER_VERSION,
    }
    # Each backend gives (slightly) different vectors: switching rebuilds instead of mixing them.
    # Absent for torch, so that indexes built before the ONNX backend existed stay valid.
    if embedder.backend != "torch":
        fingerprint["embedding_backend"] = embedder.backend
    return fingerprint


class ByLength(TransformComponent):
    """Orders nodes by the length of the text the model embeds.

    LlamaIndex's embedding calls the model once per `embed_batch_size` nodes, and a model batch
    costs as much as its longest text times its size: mixed lengths waste ~10 % of the encode time
    on padding (measured on the bench corpus). Sentence-transformers sorts too, but only within one
    call.
    """

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[BaseNode]:
        return sorted(nodes, key=lambda node: len(node.get_content(MetadataMode.EMBED)))


class Indexer:
    def __init__(self, store: ChunkStore, embedder: Embedder, chunker: PageChunker):
        self.store = store
        self.embedder = embedder
        # No cache: it would keep every embedded node of the run in memory, and Chroma already
        # tells us which pages are unchanged.
        self.pipeline = IngestionPipeline(transformations=[chunker, ByLength(), embedder.model], disable_cache=True)

    def indexed_pages(self, space_key: str, ids: list[str] | None = None) -> dict[str, IndexedPage]:
        """What the index holds for a space (or for the pages `ids` of it): page_id → content hash and
        listing signature."""
        where: list[dict] = [{keys.SPACE_KEY: space_key}, {keys.CHUNK_INDEX: 0}]
        if ids is not None:
            where.append({keys.PAGE_ID: {"$in": list(ids)}})
        got = self.store.collection.get(where={"$and": where}, include=["metadatas"])
        return {
            m[keys.PAGE_ID]: IndexedPage(m.get(keys.PAGE_HASH, ""), m.get(keys.LISTING_SIG, ""))
            for m in got["metadatas"]
        }

    def delete_pages(self, space_key: str, page_ids: Iterable[str]) -> int:
        ids = sorted(page_ids)
        for start in range(0, len(ids), DELETE_BATCH):
            # Scoped to the space: a page moved to another space keeps its chunks there.
            batch = ids[start : start + DELETE_BATCH]
            self.store.collection.delete(where={"$and": [{keys.PAGE_ID: {"$in": batch}}, {keys.SPACE_KEY: space_key}]})
        if ids:
            self.store.bump_generation()
        return len(ids)

    def index(
        self,
        pages: Iterable[Page],
        space_key: str,
        *,
        full: bool = False,
        keep: set[str] | None = None,
        progress: ProgressFn | None = None,
        total_hint: Callable[[], int | None] | None = None,
        batch_ids: list[str] | None = None,
        access: SpaceAccess | None = None,
    ) -> SyncStats:
        """Index `pages` of one space, re-embedding only what changed.

        Afterwards every indexed page of the space that is neither in `keep` nor among `pages` is
        deleted; `keep=None` means "`pages` is the whole space" (a full run). With `access`, every
        written chunk carries its page's read access (outside the content hash).
        With `batch_ids` (one batch of a distributed run: `pages` are among these ids) only those
        pages are looked up in the index and nothing is deleted: the run deletes once every batch
        has succeeded.
        """
        stats = SyncStats()
        indexed = self.indexed_pages(space_key, batch_ids) if batch_ids is not None else self.indexed_pages(space_key)
        known = {page_id: entry.page_hash for page_id, entry in indexed.items()}
        seen: set[str] = set()
        skipped: set[str] = set()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="chroma-write") as writer:
            writing: Future | None = None
            for batch in _batches(_prefetch(pages), PAGE_BATCH):
                stats.pages_total = max(stats.pages_total, (total_hint() if total_hint else 0) or 0)
                todo: list[tuple[Document, bool]] = []
                for page in batch:
                    seen.add(page.page_id)
                    if page.skipped:  # reported, not a failure: the sync goes on and succeeds
                        skipped.add(page.page_id)
                        stats.failures.append(f"{page.page_id} {page.title}: skipped, {page.skipped}")
                        continue
                    try:
                        doc = page.to_document()
                    except Exception as exc:  # one broken page must not stop the sync
                        stats.pages_failed += 1
                        stats.failures.append(f"{page.page_id} {page.title}: {exc}")
                        log.warning("page %r failed to convert: %r", page.page_id, exc)
                        continue
                    if access is not None:
                        layers = access.layers_for(page.page_id, page.parent_id)
                        doc.metadata.update(access_metadata(doc.metadata[keys.SPACE_KEY], layers))
                    previous = known.get(page.page_id)
                    if previous == doc.metadata[keys.PAGE_HASH] and not full:
                        stats.pages_unchanged += 1
                    else:
                        todo.append((doc, previous is not None))
                nodes = self.pipeline.run(documents=[doc for doc, _ in todo]) if todo else []
                if writing:
                    writing.result()  # one batch in flight at most; re-raises a failed write
                writing = writer.submit(self._write, todo, nodes, len(batch), stats, progress)
            if writing:
                writing.result()
        # A skipped item's previous text is no longer what Confluence holds.
        gone = skipped & set(known)
        if batch_ids is None:
            gone |= set(known) - seen - (keep or set())
        stats.pages_deleted = self.delete_pages(space_key, gone)
        if progress:
            progress(stats)
        return stats

    def _write(
        self,
        todo: list[tuple[Document, bool]],
        nodes: list[BaseNode],
        batch_size: int,
        stats: SyncStats,
        progress: ProgressFn | None,
    ) -> None:
        """Replace the batch's pages in Chroma: their old chunks out, the new ones in.

        A crash between the two leaves those pages without chunks: the next run sees them as new
        and indexes them again (the sync state only advances when a run completes).
        """
        if todo:
            self.store.collection.delete(where={keys.PAGE_ID: {"$in": [doc.doc_id for doc, _ in todo]}})
            if nodes:
                self.store.vector_store.add(nodes)
            self.store.bump_generation()
        stats.chunks_written += len(nodes)
        stats.pages_updated += sum(existed for _, existed in todo)
        stats.pages_added += sum(not existed for _, existed in todo)
        stats.pages_done += batch_size
        stats.pages_total = max(stats.pages_total, stats.pages_done)
        if progress:
            progress(stats)


def _batches(items: Iterable[Page], size: int) -> Iterator[list[Page]]:
    batch: list[Page] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


_DONE = object()


def _prefetch(pages: Iterable[Page], depth: int = 4 * PAGE_BATCH) -> Iterator[Page]:
    """Fetch pages in a background thread so network I/O overlaps with embedding."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    error: list[BaseException] = []

    def produce() -> None:
        try:
            for page in pages:
                q.put(page)
        except BaseException as exc:  # re-raised in the consumer
            error.append(exc)
        finally:
            q.put(_DONE)

    threading.Thread(target=produce, name="confluence-fetch", daemon=True).start()
    while True:
        item = q.get()
        if item is _DONE:
            break
        yield item
    if error:
        raise error[0]
