"""Keeping a space's index exactly in step with its source (Confluence, the demo), cheaply.

A sync of one space:
1. lists the pages in scope without bodies (id, version, title, labels, ancestors) — one cheap
   paged CQL search — and, with CONFLUENCE_INCLUDE_ATTACHMENTS, their attachments (no download);
2. fetches with bodies only (a) pages modified since the last successful sync minus an overlap
   margin (CQL `lastmodified`, minute precision, in the account's time zone) and (b) pages whose
   listing differs from the index (new, moved in, relabelled, renamed, or a previous failure);
3. re-embeds only pages whose content hash changed, and deletes indexed pages that left the
   listing (deleted, moved out, restricted, excluded by label);
4. with permissions on, mirrors read access (access/rule.py): the source's permission data is
   read once, before the pages (from the same body-less listing on Confluence), stamped on every
   written chunk, and the run ends with the permission pass over the whole space: chunks whose
   access differs from what Confluence says now are updated in place, without re-embedding.
   Restriction changes bump no version, so this pass, not the listing signature, is what notices
   them (and moved pages, whose ancestors changed, and space or group changes).
The sync point is the run's *start* time and is saved only when the run completes, so an
interrupted run is simply redone (without duplicates) next time. With no saved point, or on
request (`--full`), every page in scope is fetched.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluence_rag.access.rule import SpaceAccess
from confluence_rag.access.store import apply_access
from confluence_rag.components.metrics import PERMISSION_PASS_SECONDS, PERMISSION_PROBLEMS
from confluence_rag.ingestion.indexer import Indexer, ProgressFn, SyncStats
from confluence_rag.ingestion.models import Page
from confluence_rag.ingestion.source import PageSource

log = logging.getLogger(__name__)


class SyncState:
    """Per-space sync points, in STATE_DIR/sync_state.json (survives restarts)."""

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / "sync_state.json"
        self._lock = threading.Lock()

    def _read(self) -> dict:
        return json.loads(self.path.read_text(encoding="utf-8")) if self.path.exists() else {}

    def last_success(self, space_key: str) -> datetime | None:
        value = self._read().get(space_key, {}).get("last_success")
        return datetime.fromisoformat(value) if value else None

    def record(self, space_key: str, started: datetime, full: bool, fingerprint: str) -> None:
        with self._lock:
            data = self._read()
            entry = data.setdefault(space_key, {})
            entry["last_success"] = started.isoformat()
            entry["fingerprint"] = fingerprint
            if full:
                entry["last_full"] = started.isoformat()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
            tmp.replace(self.path)

    def fingerprint(self, space_key: str) -> str:
        return self._read().get(space_key, {}).get("fingerprint", "")


@dataclass(frozen=True)
class SyncStart:
    """What every sync (one process or distributed) decides before it fetches a page."""

    started: datetime  # the next sync point, taken before anything is read
    access: SpaceAccess | None  # the space's read access, read once (None: permissions off)
    since: datetime | None  # fetch what changed after this (the last sync point minus the overlap); None: full


def start_sync(
    source: PageSource,
    state: SyncState,
    space_key: str,
    *,
    full: bool,
    fingerprint: str,
    overlap: timedelta,
    permissions: bool,
) -> SyncStart:
    started = datetime.now(UTC)
    source.check_space(space_key)  # a clear error for an unknown space before anything else
    access = source.access(space_key) if permissions else None
    since = state.last_success(space_key)
    # Full when asked, on a first sync, or when the index was built by another model or chunking.
    if full or since is None or state.fingerprint(space_key) != fingerprint:
        return SyncStart(started, access, None)
    return SyncStart(started, access, since - overlap)


def finish_sync(
    stats: SyncStats, indexer: Indexer, state: SyncState, space_key: str, start: SyncStart, fingerprint: str
) -> None:
    """Once every page was handled: the permission pass over the whole space, then the sync point."""
    if start.access is not None:
        record_access(stats, indexer, start.access)
    # Pages that failed need no older sync point: their listing still differs from the index,
    # so the next incremental run fetches them again.
    state.record(space_key, start.started, start.since is None, fingerprint)


@dataclass
class SyncPlan:
    mode: str  # full | incremental
    pages: Iterator[Page]
    keep: set[str] | None  # ids still in scope (None: the fetched pages are the whole scope)
    in_scope: int | None = None
    to_fetch_hint: int | None = None


def plan_sync(source: PageSource, indexer: Indexer, space_key: str, since: datetime | None) -> SyncPlan:
    if since is None:
        return SyncPlan("full", source.all_pages(space_key), keep=None)

    listing = source.listing(space_key)
    stale = _stale_ids(listing, indexer, space_key)

    def pages() -> Iterator[Page]:
        fetched: set[str] = set()
        for page in source.changed_since(space_key, since):
            fetched.add(page.page_id)
            yield page
        yield from source.pages_by_id(space_key, [i for i in stale if i not in fetched])

    return SyncPlan("incremental", pages(), keep=set(listing), in_scope=len(listing), to_fetch_hint=len(stale))


@dataclass
class IdPlan:
    """A sync planned by ids (a distributed run): which ids to fetch, which to keep."""

    mode: str  # full | incremental
    ids: list[str]  # to fetch and index, in a stable order
    keep: set[str]  # every id in scope: indexed pages outside it are deleted once all batches succeeded


def plan_ids(source: PageSource, indexer: Indexer, space_key: str, since: datetime | None) -> IdPlan:
    """The same decisions as `plan_sync`, from the cheap listing only: a full sync fetches every id in
    scope, an incremental one the ids modified since the last sync point plus those whose listing
    differs from the index."""
    listing = source.listing(space_key)
    if since is None:
        return IdPlan("full", sorted(listing), set(listing))
    changed = source.changed_ids(space_key, since) & set(listing)
    return IdPlan("incremental", sorted(set(_stale_ids(listing, indexer, space_key)) | changed), set(listing))


def _stale_ids(listing: dict[str, str], indexer: Indexer, space_key: str) -> list[str]:
    """Ids in the listing that the index lacks or holds with another listing signature (version,
    title, labels, breadcrumb: what the cheap listing shows), sorted."""
    indexed = indexer.indexed_pages(space_key)
    return sorted(i for i, sig in listing.items() if i not in indexed or indexed[i].listing_sig != sig)


def sync_space(
    source: PageSource,
    indexer: Indexer,
    state: SyncState,
    space_key: str,
    *,
    full: bool,
    fingerprint: str,
    overlap_minutes: int,
    progress: ProgressFn | None = None,
    permissions: bool = False,
) -> tuple[str, SyncStats]:
    overlap = timedelta(minutes=overlap_minutes)
    start = start_sync(
        source, state, space_key, full=full, fingerprint=fingerprint, overlap=overlap, permissions=permissions
    )
    plan = plan_sync(source, indexer, space_key, start.since)
    log.info("space %r: %s sync", space_key, plan.mode)

    def total() -> int | None:
        return plan.to_fetch_hint if plan.mode == "incremental" else source.expected_total()

    stats = indexer.index(
        plan.pages, space_key, full=full, keep=plan.keep, progress=progress, total_hint=total, access=start.access
    )
    stats.pages_seen = plan.in_scope if plan.in_scope is not None else stats.pages_done
    finish_sync(stats, indexer, state, space_key, start, fingerprint)
    return plan.mode, stats


def record_access(stats: SyncStats, indexer: Indexer, access: SpaceAccess, *, delete_missing: bool = False) -> None:
    """The permission pass over the whole space, its outcome on the run's stats."""
    with PERMISSION_PASS_SECONDS.labels("apply").time():
        update = apply_access(indexer.store, access, delete_missing=delete_missing)
    PERMISSION_PROBLEMS.inc(len(access.problems))
    stats.access_pages_updated = update.pages_updated
    stats.pages_deleted += update.pages_deleted
    stats.access_problems = list(access.problems)


def sync_permissions(source: PageSource, indexer: Indexer, space_key: str) -> SyncStats:
    """The scheduled permission pass alone: recompute a space's access, embed nothing, and delete the
    chunks of pages that left the listing (deleted in Confluence: gone now, not at the next sync)."""
    source.check_space(space_key)
    stats = SyncStats(mode="permissions")
    access = source.access(space_key)
    stats.pages_seen = len(access.pages)
    record_access(stats, indexer, access, delete_missing=True)
    return stats
