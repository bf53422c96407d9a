"""What the routers use, built once per process from settings (FastAPI dependencies)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request

from confluence_rag.answering.chat import ChatService
from confluence_rag.auth.identity import ANONYMOUS, Identity
from confluence_rag.container import Components
from confluence_rag.history.database import Database
from confluence_rag.history.service import HistoryService
from confluence_rag.retrieval.filters import SearchFilters
from confluence_rag.retrieval.search import SearchService
from confluence_rag.settings import Settings
from confluence_rag.worker.jobs import JobManager


@dataclass
class Services:
    settings: Settings
    components: Components
    search: SearchService
    chat: ChatService
    jobs: JobManager | None  # in-process jobs when no WORKER_URL (embedded mode)
    history: HistoryService

    @classmethod
    def build(cls, settings: Settings) -> Services:
        components = Components(settings)
        search = SearchService(components)
        jobs = None if settings.worker_url else JobManager(components, settings.state_dir)
        history = HistoryService(settings, Database(settings))
        return cls(settings, components, search, ChatService(components, search), jobs, history)

    def filters(
        self, spaces: list[str] | None, labels: list[str] | None, identity: Identity = ANONYMOUS
    ) -> SearchFilters:
        """Validated filters: an unknown space is a 404, not an empty answer (a space the identity
        may not read is unknown to it)."""
        spaces = [s.strip() for s in spaces or [] if s.strip()]
        if spaces:
            known = {s["key"] for s in self.search.spaces(identity=identity)}
            unknown = sorted(set(spaces) - known)
            if unknown:
                indexed = ", ".join(sorted(known)) or "none"
                raise HTTPException(404, f"Unknown space(s): {', '.join(unknown)}. Indexed spaces: {indexed}.")
        return SearchFilters(tuple(spaces), tuple(lbl.strip().lower() for lbl in labels or [] if lbl.strip()))


def get_services(request: Request) -> Services:
    return request.app.state.services
