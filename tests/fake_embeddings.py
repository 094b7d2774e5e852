"""A local HTTP server speaking the OpenAI embeddings protocol, for the remote-embedding tests and benchmark.

Tests drive the real ``openai`` client (through ``CODEGRAPH_EMBED_BASE_URL``) against it. ``POST /v1/embeddings``
answers with deterministic vectors: each input's is a unit vector seeded by the xxh3 hash of its text (so the same
text always gets the same vector, and texts sharing words get no closer: search quality is not the point here),
as base64 float32 or JSON floats per ``encoding_format``. The server records every request (time, inputs, headers),
tracks the most requests it had in flight at once, and follows a script: a :class:`Status` answers with an
HTTP error (and headers such as ``Retry-After``) instead of the next success; ``fail_after`` makes every request
after that many successes fail (a server that breaks mid-run); ``latency_s`` delays every answer.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import xxhash

DIM = 32


@dataclass(frozen=True)
class Status:
    """Answer one request with HTTP ``code``, an OpenAI-style error body and ``headers``."""

    code: int
    message: str = "error"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Recorded:
    """One request the server received: when (``time.monotonic()``), its inputs, headers and answer code."""

    at: float
    inputs: list[str]
    headers: dict[str, str]
    body: dict[str, Any]
    code: int = 200


def vector(text: str, dim: int = DIM) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The deterministic unit vector the server returns for ``text``."""
    rng = np.random.default_rng(xxhash.xxh3_64_intdigest(text.encode()))
    v = rng.standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


class FakeEmbeddings:
    """Handle on a running server: ``base_url``, the ``requests`` seen, ``script``, ``latency_s``, ``fail_after``
    and ``max_in_flight``."""

    def __init__(self, *, dim: int, latency_s: float, script: list[Status], fail_after: int | None) -> None:
        self.base_url = ""
        self.dim = dim
        self.latency_s = latency_s
        self.script = script
        self.fail_after = fail_after
        self.requests: list[Recorded] = []
        self.successes = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    @property
    def inputs_embedded(self) -> list[str]:
        """Every input of every successful request, in arrival order."""
        return [text for r in self.requests if r.code == 200 for text in r.inputs]

    def _enter(self) -> Status | None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.script:
                return self.script.pop(0)
            if self.fail_after is not None and self.successes >= self.fail_after:
                return Status(500, "the server broke")
            self.successes += 1
            return None

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


def _handler(state: FakeEmbeddings) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            pass

        def _json(self, code: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            raw = body.get("input", [])
            inputs = [raw] if isinstance(raw, str) else list(raw)
            record = Recorded(time.monotonic(), inputs, {k.lower(): v for k, v in self.headers.items()}, body)
            with state._lock:
                state.requests.append(record)
            if not self.path.endswith("/embeddings"):
                record.code = 404
                self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
                return
            failure = state._enter()
            try:
                if state.latency_s:
                    time.sleep(state.latency_s)
                if failure is not None:
                    record.code = failure.code
                    error = {"message": failure.message, "type": "server_error", "code": None}
                    self._json(failure.code, {"error": error}, failure.headers)
                    return
                dim = int(body.get("dimensions") or state.dim)
                data = []
                for i, text in enumerate(inputs):
                    v = vector(text, dim)
                    encoded: Any = (
                        base64.b64encode(v.astype("<f4").tobytes()).decode()
                        if body.get("encoding_format") == "base64"
                        else v.tolist()
                    )
                    data.append({"object": "embedding", "index": i, "embedding": encoded})
                usage = {"prompt_tokens": sum(len(t) // 4 for t in inputs), "total_tokens": 0}
                usage["total_tokens"] = usage["prompt_tokens"]
                self._json(200, {"object": "list", "data": data, "model": body.get("model"), "usage": usage})
            finally:
                state._leave()

    return Handler


@contextmanager
def fake_embeddings(
    *, dim: int = DIM, latency_s: float = 0.0, script: list[Status] | None = None, fail_after: int | None = None
) -> Iterator[FakeEmbeddings]:
    """Run the server on 127.0.0.1 for the ``with`` block; ``state.base_url`` ends in ``/v1``."""
    state = FakeEmbeddings(dim=dim, latency_s=latency_s, script=list(script or []), fail_after=fail_after)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
