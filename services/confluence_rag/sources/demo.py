"""Demo content: a small fictional French team wiki shipped with the package.

It goes through exactly the same sync, conversion, chunking and indexing as Confluence pages; only
the fetching differs. The query API serves the pages at /demo/pages/{id} so citations can be
clicked in `make run`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from importlib import resources

from confluence_rag.access.rule import PUBLIC, SpaceAccess
from confluence_rag.ingestion.models import Page
from confluence_rag.ingestion.source import PageSource, SourceError

DEMO_SPACE = "DEMO"
DEMO_URL_PREFIX = "/demo/pages/"


def _folder():
    return resources.files("confluence_rag") / "demo"


def demo_manifest() -> list[dict]:
    return json.loads((_folder() / "pages.json").read_text(encoding="utf-8"))


def demo_html(page_id: str) -> tuple[str, str] | None:
    """(title, html) of a demo page, or None."""
    for entry in demo_manifest():
        if entry["page_id"] == page_id:
            return entry["title"], (_folder() / entry["file"]).read_text(encoding="utf-8")
    return None


def demo_pages() -> list[Page]:
    return [
        Page(
            page_id=entry["page_id"],
            space_key=DEMO_SPACE,
            title=entry["title"],
            url=DEMO_URL_PREFIX + entry["page_id"],
            html=(_folder() / entry["file"]).read_text(encoding="utf-8"),
            version=entry["version"],
            last_modified=entry["last_modified"],
            author=entry["author"],
            labels=entry["labels"],
            breadcrumb=entry["breadcrumb"],
        )
        for entry in demo_manifest()
    ]


class DemoSource(PageSource):
    """The demo wiki as a source: one space, DEMO, public content."""

    def check_space(self, space_key: str) -> None:
        if space_key != DEMO_SPACE:
            raise SourceError(f"The demo content has one space, {DEMO_SPACE}.")

    def scope(self, space_key: str) -> str:
        return "demo"

    def listing(self, space_key: str) -> dict[str, str]:
        return {page.page_id: page.signature for page in demo_pages()}

    def all_pages(self, space_key: str) -> Iterator[Page]:
        return iter(demo_pages())

    def changed_since(self, space_key: str, since: datetime) -> Iterator[Page]:
        return (p for p in demo_pages() if datetime.fromisoformat(p.last_modified) >= since)

    def changed_ids(self, space_key: str, since: datetime) -> set[str]:
        return {p.page_id for p in self.changed_since(space_key, since)}

    def pages_by_id(self, space_key: str, ids: list[str]) -> Iterator[Page]:
        wanted = set(ids)
        return (p for p in demo_pages() if p.page_id in wanted)

    def access(self, space_key: str) -> SpaceAccess:
        """Public content: anyone may view the space, no page is restricted."""
        return SpaceAccess(space_key, PUBLIC, {page.page_id: () for page in demo_pages()})
