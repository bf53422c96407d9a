"""Keeping read access current without an operator (docs/permissions.md "Revocations").

Restrictions, space permissions and group memberships bump no page version, so only a permission
pass sees them. The watch runs one pass over every space of CONFLUENCE_SPACES, then waits
PERMISSION_SYNC_MINUTES, and longer when the pass cost more Confluence requests than
PERMISSION_BUDGET_PER_MINUTE allows: the pass is sized to the budget, whatever the space's size.
A signal cuts the wait short for the spaces it names (all when it names none), within the same
budget: a record of Confluence's audit log, polled every PERMISSION_AUDIT_SECONDS when the account
may read it (PERMISSION_AUDIT=auto; a 401/403 turns the poll off quietly), or a Data Center webhook
(worker/webhooks.py). A pass also deletes the chunks of pages that left the listing.
Passes take the index's writer lock, so they never interleave with a sync of the same index.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from confluence_rag.container import Components
from confluence_rag.ingestion.source import SourceError
from confluence_rag.ingestion.sync import sync_permissions
from confluence_rag.sources.confluence import ConfluenceClient, ConfluenceError
from confluence_rag.sources.confluence_audit import AuditError, AuditFeed, AuditUnavailable

log = logging.getLogger(__name__)


@dataclass
class PassRecord:
    """The last pass over one space, as the watch saw it (logged; read by tests and the benchmark)."""

    space_key: str
    finished: float  # time.time()
    duration_s: float
    requests: int
    pages_updated: int
    pages_deleted: int
    error: str | None = None


@dataclass
class WatchState:
    passes: int = 0
    requests: int = 0  # Confluence requests spent by passes since the start
    audit: str = "off"  # off | polling | unavailable (the account may not read the audit log)
    audit_requests: int = 0
    signals: int = 0
    last: dict[str, PassRecord] = field(default_factory=dict)


class AccessWatch:
    """The scheduled permission pass, paced on the request budget, woken by change signals."""

    def __init__(self, components: Components, writer_lock: threading.Lock):
        self.components = components
        self.settings = components.settings
        self.writer_lock = writer_lock
        self.state = WatchState()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    @property
    def enabled(self) -> bool:
        st = self.settings
        return st.permissions_enabled and st.permission_sync_minutes > 0 and bool(st.confluence_spaces)

    def start(self) -> None:
        if not self.enabled:
            return
        self._threads = [threading.Thread(target=self._run, name="access-watch", daemon=True)]
        if self.settings.permission_audit == "auto":
            self._threads.append(threading.Thread(target=self._poll_audit, name="access-audit", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def signal(self, spaces: set[str] | None, why: str) -> None:
        """Something changed access (an audit record, a webhook): pass over these spaces (None: all) soon."""
        wanted = set(self.settings.confluence_spaces) if not spaces else spaces & set(self.settings.confluence_spaces)
        if not wanted:
            return
        log.info("access change signalled (%r): permission pass of %s", why, sorted(wanted))
        self.state.signals += 1
        with self._lock:
            self._pending |= wanted
        self._wake.set()

    def _run(self) -> None:
        spaces = list(self.settings.confluence_spaces)
        while not self._stop.is_set():
            started = time.monotonic()
            requests = sum(self.run_pass(space) for space in spaces)
            # The budget: this cycle may not average more than PERMISSION_BUDGET_PER_MINUTE requests.
            budget_s = requests * 60.0 / self.settings.permission_budget_per_minute
            if self._stop.wait(max(0.0, budget_s - (time.monotonic() - started))):
                return
            self._wake.wait(max(0.0, self.settings.permission_sync_minutes * 60 - (time.monotonic() - started)))
            self._wake.clear()
            with self._lock:
                spaces, self._pending = (sorted(self._pending) or list(self.settings.confluence_spaces)), set()

    def run_pass(self, space_key: str) -> int:
        """One permission pass over a space; the Confluence requests it spent."""
        started = time.monotonic()
        source = self.components.source(space_key)
        error = None
        try:
            with self.writer_lock:
                stats = sync_permissions(source, self.components.indexer(), space_key)
        except (SourceError, OSError) as exc:  # Confluence down or refusing: the next cycle retries
            error = str(exc) or type(exc).__name__
            log.warning("permission pass of space %r failed: %s", space_key, error)
            stats = None
        except Exception:  # a bug must not stop the watch: logged, retried next cycle
            log.exception("permission pass of space %r failed", space_key)
            error, stats = "unexpected error (see the log)", None
        requests = source.requests_made()
        record = PassRecord(
            space_key,
            time.time(),
            round(time.monotonic() - started, 3),
            requests,
            stats.access_pages_updated if stats else 0,
            stats.pages_deleted if stats else 0,
            error,
        )
        self.state.last[space_key] = record
        self.state.passes += 1
        self.state.requests += requests
        if stats and (record.pages_updated or record.pages_deleted):
            log.info(
                "permission pass of %r: %d pages' access changed, %d deleted, %d requests, %.1fs",
                space_key,
                record.pages_updated,
                record.pages_deleted,
                requests,
                record.duration_s,
            )
        return requests

    def _poll_audit(self) -> None:
        """Poll the audit log; each access-relevant record signals the spaces it names."""
        try:
            client = ConfluenceClient(self.settings, self.components.request_budget)
            # Records name spaces by name (Cloud) or by name and id (DC), never by key.
            names = {key: {key} for key in self.settings.confluence_spaces}
            for key in names:
                space = client.get_space(key)
                names[key] |= {str(v) for v in (space.get("name"), space.get("id")) if v}
        except (ConfluenceError, OSError) as exc:
            log.info("audit log not polled (%s): the scheduled permission pass alone keeps access current", exc)
            return
        feed = AuditFeed(client, self.settings.permission_audit_match)
        self.state.audit = "polling"
        while not self._stop.wait(self.settings.permission_audit_seconds):
            before = client.adapter.sent
            try:
                changes = feed.poll()
            except AuditUnavailable as exc:
                self.state.audit = "unavailable"
                log.info("audit log unreadable (%s): the scheduled permission pass alone keeps access current", exc)
                return
            except AuditError as exc:
                log.warning("audit log poll failed: %s", exc)
                changes = []
            finally:
                self.state.audit_requests += client.adapter.sent - before
            for change in changes:
                named = {key for key, known in names.items() if known & change.spaces}
                if change.spaces and not named:
                    continue  # another space's change
                self.signal(named or None, f"audit log: {change.what}")
