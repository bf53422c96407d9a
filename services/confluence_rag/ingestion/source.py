"""What the sync needs from a content source, in the spirit of Onyx's connector interfaces.

A source lists a space cheaply (ids and listing signatures, no bodies), fetches what changed since a
moment (or only names it, `changed_ids`, for a distributed sync that plans by ids), and fetches given
ids. The sync planner (`sync.py`) and the indexer depend on this interface only: a new source
(another wiki, a file share) is a new class, and the pipeline does not change.
Implementations: `sources.confluence.ConfluenceSource` (the REST API) and `sources.demo.DemoSource`
(the French demo wiki shipped with the package).

A source may be stateful within one sync run (e.g. it remembers the listing to select the
attachments of the pages in scope); the container builds a fresh one for every run.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime

from confluence_rag.access.rule import SpaceAccess
from confluence_rag.ingestion.models import Page


class SourceError(RuntimeError):
    """A source failure with a message fit for an operator (no secrets in it)."""


class SourceAuthError(SourceError):
    """The source refused our credentials or access: retrying will not help; a setting must change."""


class PageSource(ABC):
    def expected_total(self) -> int | None:
        """Items the running full fetch is expected to yield, when the source can tell (progress only)."""
        return None

    def requests_made(self) -> int:
        """Requests this source sent so far (the permission passes are paced on them; 0: free source)."""
        return 0

    @abstractmethod
    def check_space(self, space_key: str) -> None:
        """Raise SourceError (with what happened: unreachable, refused, not found) unless the space can be read."""

    @abstractmethod
    def scope(self, space_key: str) -> str:
        """A stable description of what a sync of the space covers; when it changes, the next sync is a full one."""

    @abstractmethod
    def listing(self, space_key: str) -> dict[str, str]:
        """Every item in scope: id → listing signature (`Page.signature`), without bodies."""

    @abstractmethod
    def all_pages(self, space_key: str) -> Iterator[Page]:
        """Every item in scope, with bodies."""

    @abstractmethod
    def changed_since(self, space_key: str, since: datetime) -> Iterator[Page]:
        """Items modified at or after `since`, with bodies (may repeat a few older ones)."""

    @abstractmethod
    def changed_ids(self, space_key: str, since: datetime) -> set[str]:
        """Ids of the items `changed_since` would yield, without bodies (a distributed sync plans by ids)."""

    @abstractmethod
    def pages_by_id(self, space_key: str, ids: list[str]) -> Iterator[Page]:
        """The given items, with bodies; ids no longer in scope are skipped."""

    @abstractmethod
    def access(self, space_key: str) -> SpaceAccess:
        """Who may read each item in scope: the space's view grant, every page's restriction layers
        (its own and its ancestors'), and the members of every group named in them. Called once per
        sync and by the permission pass; whatever cannot be read must deny, not be skipped."""
