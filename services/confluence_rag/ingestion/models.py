"""What a source yields: one Confluence page (or attachment) with all its metadata."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from llama_index.core.schema import Document

from confluence_rag import index_schema as keys
from confluence_rag.index_schema import label_key
from confluence_rag.ingestion.html_to_markdown import ConvertedPage, html_to_markdown


@dataclass
class Page:
    page_id: str
    space_key: str
    title: str
    url: str
    html: str
    version: int = 0
    last_modified: str = ""
    author: str = ""
    labels: list[str] = field(default_factory=list)
    breadcrumb: list[str] = field(default_factory=list)  # ancestors' titles, root first
    kind: str = "page"  # page | blogpost | attachment
    parent_id: str = ""  # an attachment's page
    markdown: str | None = None  # already text (attachments): no HTML conversion
    comments_sig: str = ""  # the page's comments as the listing sees them (ids, versions); "" without comments
    skipped: str = ""  # why this item is not indexed (an unreadable attachment): a line of the job report

    @property
    def signature(self) -> str:
        return listing_signature(self.version, self.title, self.labels, self.breadcrumb, self.comments_sig)

    def to_document(self) -> Document:
        """Convert the HTML and attach the metadata every chunk will carry (Chroma-safe scalars)."""
        converted = html_to_markdown(self.html) if self.markdown is None else ConvertedPage(self.markdown)
        metadata = {
            keys.PAGE_ID: self.page_id,
            keys.SPACE_KEY: self.space_key,
            keys.TITLE: self.title,
            keys.URL: self.url,
            keys.VERSION: self.version,
            keys.LAST_MODIFIED: self.last_modified,
            keys.AUTHOR: self.author,
            keys.LABELS: json.dumps(sorted(self.labels), ensure_ascii=False),
            keys.BREADCRUMB: json.dumps(self.breadcrumb, ensure_ascii=False),
            keys.KIND: self.kind,
            keys.PARENT_ID: self.parent_id,
            keys.LISTING_SIG: self.signature,
            keys.ANCHORS: json.dumps(converted.anchors, ensure_ascii=False),
        }
        # One boolean key per label so that Chroma can filter on labels.
        metadata.update({label_key(label): True for label in self.labels})
        metadata[keys.PAGE_HASH] = content_hash(converted.markdown, metadata)
        return Document(id_=self.page_id, text=converted.markdown, metadata=metadata)


def listing_signature(
    version: int, title: str, labels: list[str], breadcrumb: list[str], comments_sig: str = ""
) -> str:
    """What a cheap listing (no bodies) tells about a page: if it differs from the index, refetch.

    It catches what Confluence's last-modified date does not: relabelled, moved or renamed pages
    (a label change bumps no version), pages whose ancestors were renamed and, with comments on,
    pages whose comments were added, edited or deleted (none of which bumps the page's version).
    """
    fields: list = [version, title, sorted(labels), breadcrumb]
    if comments_sig:  # absent without comments: signatures of indexes built before comments stay valid
        fields.append(comments_sig)
    payload = json.dumps(fields, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def content_hash(text: str, metadata: dict) -> str:
    """Hash of what ends up in the index: a page whose hash is unchanged is not re-embedded."""
    payload = json.dumps({"text": text, "meta": metadata}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]
