"""A LlamaIndex embedding over any batch encoder (`texts → vectors`), with the model's prefixes.

The ONNX and embedding-server backends both reduce to "encode these texts"; this is the one
LlamaIndex wrapper around them, with the query / passage prefixes applied as HuggingFaceEmbedding
applies them (`query_instruction` / `text_instruction`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

Encode = Callable[[list[str]], np.ndarray]


class EncoderEmbedding(BaseEmbedding):
    query_instruction: str = ""
    text_instruction: str = ""
    _encode: Encode = PrivateAttr()

    def __init__(self, encode: Encode, *, query_instruction: str = "", text_instruction: str = "", **kw):
        super().__init__(query_instruction=query_instruction, text_instruction=text_instruction, **kw)
        self._encode = encode

    @classmethod
    def class_name(cls) -> str:
        return "EncoderEmbedding"

    def _embed(self, texts: list[str], prefix: str) -> list[list[float]]:
        return self._encode([prefix + t for t in texts]).tolist()

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query], self.query_instruction)[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text], self.text_instruction)[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts, self.text_instruction)
