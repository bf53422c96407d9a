"""One ingestion run of one space: the unit that `make ingest`, the worker and jobs all call."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from tqdm import tqdm

from confluence_rag.components.container import Components
from confluence_rag.ingestion.demo import DEMO_SPACE, demo_pages
from confluence_rag.ingestion.indexer import ProgressFn, SyncStats
from confluence_rag.ingestion.models import Page

log = logging.getLogger(__name__)


class IndexMismatch(RuntimeError):
    """The index was built with another embedding model or chunking: a full re-index is needed."""


def ensure_compatible_index(components: Components, full: bool) -> None:
    """Reset the collection when it was built with other settings, instead of mixing vectors."""
    store = components.store()
    current, wanted = store.fingerprint(), components.fingerprint
    if current and current != wanted:
        log.warning("index built with %s, settings say %s: rebuilding the whole index", current, wanted)
        components.reset_store()


def ingest_space(
    components: Components,
    space_key: str,
    *,
    full: bool = False,
    progress: ProgressFn | None = None,
    show_progress_bar: bool = False,
) -> SyncStats:
    ensure_compatible_index(components, full)
    indexer = components.indexer()
    pages: Iterable[Page]
    total_hint = None
    if space_key == DEMO_SPACE and components.settings.demo_content:
        pages = demo_pages()
    else:
        client = components.confluence()
        client.get_space(space_key)  # clear error for an unknown space before anything else
        pages = client.iter_space_pages(space_key)
        total_hint = lambda: client.last_total  # noqa: E731
    bar = tqdm(desc=f"space {space_key}", unit="page", disable=not show_progress_bar)

    def report(stats: SyncStats) -> None:
        bar.total = stats.pages_total or None
        bar.n = stats.pages_done
        bar.refresh()
        if progress:
            progress(stats)

    try:
        stats = indexer.index(pages, space_key, full=full, progress=report, total_hint=total_hint)
    finally:
        bar.close()
    log.info("space %s: %s", space_key, {k: v for k, v in stats.as_dict().items() if k != "failures"})
    return stats
