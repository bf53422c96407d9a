"""Demo content: a small fictional French team wiki shipped with the package.

It goes through exactly the same conversion, chunking and indexing as Confluence pages; only
the fetching differs. The query API serves the pages at /demo/pages/{id} so citations can be
clicked in `make run`.
"""

from __future__ import annotations

import json
from importlib import resources

from confluence_rag.ingestion.models import Page

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
