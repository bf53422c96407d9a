"""One ingestion run of one space: the unit that `make ingest`, the worker and jobs all call.

With BROKER_URL the run's batches are done by the Celery workers (`distributed.py`); the planning,
the indexing code and the result are the same.
"""

from __future__ import annotations

import json
import logging
from functools import partial

from tqdm import tqdm

from confluence_rag.container import Components
from confluence_rag.ingestion.indexer import ProgressFn, SyncStats
from confluence_rag.ingestion.sync import SyncState, sync_permissions, sync_space

log = logging.getLogger(__name__)


def ensure_compatible_index(components: Components) -> None:
    """Reset the collection when it was built with other settings, instead of mixing vectors."""
    current, wanted = components.store().fingerprint(), components.fingerprint
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
    """Sync one space (incrementally when a previous sync succeeded; everything with `full`)."""
    ensure_compatible_index(components)
    indexer = components.indexer()
    bar = tqdm(desc=f"space {space_key}", unit="page", disable=not show_progress_bar)

    def report(stats: SyncStats) -> None:
        bar.total = stats.pages_total or None
        bar.n = stats.pages_done
        bar.refresh()
        if progress:
            progress(stats)

    try:
        source = components.source(space_key)
        scope = json.dumps([components.fingerprint, source.scope(space_key)], sort_keys=True)
        sync = sync_space
        if components.settings.broker_url.get_secret_value():
            from confluence_rag.worker.distributed import sync_space_distributed

            sync = partial(sync_space_distributed, components)
        mode, stats = sync(
            source,
            indexer,
            SyncState(components.settings.state_dir),
            space_key,
            full=full,
            fingerprint=scope,
            overlap_minutes=components.settings.sync_overlap_minutes,
            progress=report,
            permissions=components.settings.permissions_enabled,
        )
    finally:
        bar.close()
    stats.mode = mode
    log.info("space %r (%s): %s", space_key, mode, {k: v for k, v in stats.as_dict().items() if k != "failures"})
    return stats


def permission_pass(components: Components, space_key: str) -> SyncStats:
    """Recompute read access for a whole space and update chunk metadata; nothing is re-embedded."""
    stats = sync_permissions(components.source(space_key), components.indexer(), space_key)
    log.info("space %r permissions: %d pages updated", space_key, stats.access_pages_updated)
    return stats
