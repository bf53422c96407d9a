"""How both apps (query API and ingest worker) are served: uvicorn, the same way for each.

- The client address is the TCP peer, never `X-Forwarded-For`: uvicorn's proxy_headers are off, so
  AUTH_PROXY_TRUSTED (and the admin-token rule) is decided on the connection alone. nginx in front
  still sends X-Forwarded-For; the API ignores it.
- The request head (request line and headers) is capped at MAX_HEADER_BYTES: above it the answer is
  a 431 and the connection is closed, before the app sees the request and while the head is still
  being received (uvicorn itself caps nothing with httptools, and answers 400 with h11).
"""

from __future__ import annotations

import functools

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

TOO_LARGE = "Request headers too large: at most {limit} bytes (MAX_HEADER_BYTES)."


class HeadTooLarge(Exception):
    pass


class HeaderLimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering 431 once a request's head passes `max_head_bytes`.

    Two counts: the raw bytes received while a head is incomplete (so a huge header is refused while
    it arrives, not once buffered), and the exact size of the parsed request line and headers (a head
    that arrives in one read). The parser reports a callback's exception as a malformed request, hence
    `send_400_response` answers 431 when the head was the reason.
    """

    def __init__(self, *args, max_head_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_head_bytes = max_head_bytes
        self.head_open = True  # waiting for (the rest of) a request head
        self.received = 0  # bytes received since the last request completed
        self.head_bytes = 0  # exact size of the current head, as parsed
        self.head_too_large = False

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        super().data_received(data)
        if self.head_open and self.received > self.max_head_bytes and not self.transport.is_closing():
            self.send_431_response()

    def _count(self, size: int) -> None:
        self.head_bytes += size
        if self.head_bytes > self.max_head_bytes:
            self.head_too_large = True
            raise HeadTooLarge

    def on_message_begin(self) -> None:
        self.head_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # "name: value\r\n"
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.head_open = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.head_open, self.received = True, 0

    def send_400_response(self, msg: str) -> None:
        if self.head_too_large:
            self.send_431_response()
        else:
            super().send_400_response(msg)

    def send_431_response(self) -> None:
        body = TOO_LARGE.format(limit=self.max_head_bytes).encode()
        self.logger.warning("request refused: headers over %d bytes", self.max_head_bytes)
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
            + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
            + body
        )
        self.transport.close()


def server_config(app: FastAPI, host: str, port: int, *, max_header_bytes: int, **options) -> uvicorn.Config:
    """uvicorn's configuration for either app; `options` are further uvicorn.Config arguments."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=False,
        http=functools.partial(HeaderLimitedProtocol, max_head_bytes=max_header_bytes),  # type: ignore[arg-type]
        **options,
    )


def serve(app: FastAPI, host: str, port: int, *, max_header_bytes: int, log_level: str) -> None:
    """Run `app` in the foreground (the CLI's `api` and `worker`)."""
    config = server_config(
        app, host, port, max_header_bytes=max_header_bytes, log_level=log_level.lower(), timeout_graceful_shutdown=5
    )
    uvicorn.Server(config).run()
