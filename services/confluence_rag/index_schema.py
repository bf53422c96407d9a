"""The index's schema: every metadata key a chunk carries in Chroma, defined once.

Writers (ingestion) and readers (retrieval, answering, benchmarks) import these names instead of
repeating string literals, so a key can be found, renamed or added in one place. Values are
Chroma-safe scalars: lists are stored as JSON strings, labels also as one boolean key each so that
Chroma can filter on them.
"""

from __future__ import annotations

# --- the page a chunk comes from (same on every chunk of a page) ------------------------------
PAGE_ID = "page_id"
SPACE_KEY = "space_key"
TITLE = "title"
URL = "url"
VERSION = "version"
LAST_MODIFIED = "last_modified"
AUTHOR = "author"
LABELS = "labels"  # JSON list of label names
BREADCRUMB = "breadcrumb"  # JSON list of ancestor titles, root first
KIND = "kind"  # page | blogpost | attachment
PARENT_ID = "parent_id"  # an attachment's page
LISTING_SIG = "listing_sig"  # what a body-less listing says about the page (see listing_signature)
PAGE_HASH = "page_hash"  # hash of the converted text + metadata: unchanged → not re-embedded
ANCHORS = "anchors"  # JSON [[heading, id], …] in page order; on the page Document only, not on chunks

# --- who may read it (access/rule.py; not part of PAGE_HASH: access changes never re-embed) --
ACCESS_LAYERS = "access_layers"  # JSON list of read-restriction layers (own + ancestors'), canonical
ACCESS_KEY = "access_key"  # short hash of (space_key, layers): what queries filter on

# --- the chunk itself ---------------------------------------------------------------------------
CHUNK_INDEX = "chunk_index"  # 0, 1, …; chunk 0 stands for its page in page-level reads
CONTEXT = "context"  # "breadcrumb › title › headings": embedded and keyword-indexed with the text
HEADING = "heading"
HEADING_PATH = "heading_path"  # JSON list
ANCHOR_URL = "anchor_url"  # url#anchor of the chunk's heading, or the page url

LABEL_PREFIX = "label:"


def label_key(label: str) -> str:
    """The boolean key that marks a chunk with `label` (case-insensitive)."""
    return f"{LABEL_PREFIX}{label.lower()}"
