"""An OpenAI-compatible chat-completions fake (JSON and SSE) that records the prompts it receives.

`POST /v1/chat/completions`: answers deterministically from the prompt:
- a condense request (the prompt asks for a "Standalone question") → `condense_reply`, or the
  last user message unchanged;
- otherwise, if the system prompt holds numbered context passages, an answer citing [1] built
  from the first passage's first 20 words; with no passage, the "not found" sentence.
Behaviour switches: `mode` = "answer" | "not_found" | "error" (HTTP 500) | "hang" (sleeps
`hang_s`) | "unauthorized" (401); `token_delay_s` paces the stream so streaming is observable.
Run standalone: `python -m tests.fakes.llm --port 8091`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler

from tests.fakes.http import FakeServer

NOT_FOUND_FR = "Je n'ai pas trouvé la réponse dans la documentation."


class FakeLLM(FakeServer):
    def __init__(self, *, token_delay_s: float = 0.0, api_key: str = "test-key"):
        self.mode = "answer"
        self.token_delay_s = token_delay_s
        self.hang_s = 30.0
        self.api_key = api_key
        self.condense_reply: str | None = None
        self.requests: list[dict] = []
        super().__init__(_Handler, path="/v1")

    api_base = FakeServer.url

    @property
    def answer_requests(self) -> list[dict]:
        return [r for r in self.requests if not _is_condense(r)]

    def reply_for(self, body: dict) -> str:
        messages = body.get("messages", [])
        if _is_condense(body):
            if self.condense_reply:
                return self.condense_reply
            match = re.search(r"Last user message: (.*)", messages[-1]["content"])
            return match.group(1).strip() if match else messages[-1]["content"]
        if self.mode == "not_found":
            return NOT_FOUND_FR
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        passage = re.search(r"^\[1\] .*\nURL: .*\n((?:.+\n?)+)", system, flags=re.MULTILINE)
        if not passage:
            return NOT_FOUND_FR
        # Up to 20 words of the passage's prose (Markdown markers dropped), so that the answer always
        # streams as many tokens whatever the passage starts with (a numbered step, a heading...).
        words = re.sub(r"(?m)^\s*(?:[#>*|-]+|\d+[.)])\s*", "", passage.group(1)).split()[:20]
        return f"D'après la documentation : {' '.join(words)} [1]"


def _is_condense(body: dict) -> bool:
    messages = body.get("messages", [])
    return bool(messages) and "Standalone question" in messages[-1].get("content", "")


class _Handler(BaseHTTPRequestHandler):
    owner: FakeLLM
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _json(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        fake = self.owner
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        body["_authorization"] = self.headers.get("Authorization", "")
        fake.requests.append(body)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, {"error": {"message": "not found"}})
            return
        if fake.mode == "unauthorized" or body["_authorization"] != f"Bearer {fake.api_key}":
            self._json(
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided",
                        "type": "invalid_request_error",
                    }
                },
            )
            return
        if fake.mode == "error" and not _is_condense(body):
            self._json(500, {"error": {"message": "internal failure", "type": "server_error"}})
            return
        if fake.mode == "hang":
            time.sleep(fake.hang_s)
        text = fake.reply_for(body)
        created = int(time.time())
        if not body.get("stream"):
            self._json(
                200,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": created,
                    "model": body.get("model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": 10,
                        "completion_tokens": len(text.split()),
                        "total_tokens": 10,
                    },
                },
            )
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        words = re.findall(r"\S+\s*", text)
        try:
            for i, word in enumerate(words):
                delta = {"role": "assistant", "content": word} if i == 0 else {"content": word}
                chunk = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": body.get("model"),
                    "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                if fake.token_delay_s:
                    time.sleep(fake.token_delay_s)
            end = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.get("model"),
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            }
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--token-delay", type=float, default=0.05)
    args = parser.parse_args()
    fake = FakeLLM(token_delay_s=args.token_delay)
    print(f"fake LLM at {fake.start(port=args.port)} (api key {fake.api_key})", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
