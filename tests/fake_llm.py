"""A local HTTP server speaking the OpenAI chat-completions protocol, for the generate / test tests.

The real LLM API cannot be reached from the test machines, so tests drive the real ``openai`` client (through
``CODEGRAPH_LLM_BASE_URL``) against this server. It answers ``POST /v1/chat/completions`` with scripted replies,
streamed as server-sent events (``chat.completion.chunk`` objects, a final usage chunk, ``data: [DONE]``) when the
request asks for ``stream``, and records every request (headers and JSON body) so tests can assert what was sent.

A scripted reply is either the answer's text, or a :class:`Status` (an HTTP error with the JSON error body the
OpenAI API uses), or a :class:`Delay` (sleep before answering, to provoke client timeouts), or a :class:`Trickle`
(the text streamed slowly, piece by piece). When the script runs
out, the last reply is repeated.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "fake-coder-1"

KEY = "sk-test-SECRET-0123456789"
"""The API key the tests set; asserted never to appear in any output, log, index row or prompt."""

# Scripted model answers shared by the generate, test, serve and PostgreSQL tests.
ANSWER = (
    "Title: Upload with retries and jitter\n"
    "```python\n"
    "import random\n\n"
    "def upload_with_jitter(client, payload):\n"
    "    return retry_upload(client, payload, attempts=3 + random.randint(0, 2))\n"
    "```\n"
    "Explanation: Reuses retry_upload from app/retry.py with a random number of attempts."
)
"""A ``generate`` answer for the sample repository (``retry_upload`` in ``app/retry.py``)."""

CODE = (
    "Title: Clamp and add\n```python\n"
    "def add(a, b):\n    return a + b\n\n\n"
    "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n"
    "```\nExplanation: Two small helpers."
)
"""A ``generate`` answer whose code :data:`TESTS` tests (all pass)."""

TESTS = (
    "Title: Tests for add and clamp\n```python\n"
    "from snippet import add, clamp\n\n\n"
    "def test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_clamp_upper():\n    assert clamp(15, 0, 10) == 10\n"
    "```\nExplanation: Covers both helpers."
)
"""A ``test`` answer: tests of :data:`CODE`."""


@dataclass(frozen=True)
class Status:
    """Answer with HTTP ``code`` and an OpenAI-style error body (plus ``headers``)."""

    code: int
    message: str = "error"
    error_code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delay:
    """Sleep ``seconds`` before answering with ``then``."""

    seconds: float
    then: str


@dataclass(frozen=True)
class Trickle:
    """Stream ``text`` with ``piece_delay_s`` seconds between its pieces (so a client sees it arrive in parts)."""

    text: str
    piece_delay_s: float = 0.02


Reply = str | Status | Delay | Trickle


@dataclass
class Recorded:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, str]]:
        return list(self.body.get("messages", []))

    def text(self, role: str) -> str:
        return "\n".join(m["content"] for m in self.messages if m["role"] == role)


class FakeLLM:
    """Handle on a running server: ``base_url``, the ``requests`` seen, and ``script`` (replies left)."""

    def __init__(self, base_url: str, script: list[Reply]) -> None:
        self.base_url = base_url
        self.script = script
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()

    def next_reply(self) -> Reply:
        with self._lock:
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _handler(state: FakeLLM) -> type[BaseHTTPRequestHandler]:
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
            state.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if not self.path.endswith("/chat/completions"):
                self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
                return
            reply = state.next_reply()
            if isinstance(reply, Delay):
                time.sleep(reply.seconds)
                reply = reply.then
            pause = 0.0
            if isinstance(reply, Trickle):
                reply, pause = reply.text, reply.piece_delay_s
            if isinstance(reply, Status):
                error = {"message": reply.message, "type": "invalid_request_error", "code": reply.error_code}
                self._json(reply.code, {"error": error}, reply.headers)
                return
            words = reply.split(" ")
            pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
            usage = {"prompt_tokens": 11 * len(body.get("messages", [])), "completion_tokens": len(words)}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            if not body.get("stream"):
                message = {"role": "assistant", "content": reply}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                self._json(
                    200,
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": 0,
                        "model": MODEL,
                        "choices": [choice],
                        "usage": usage,
                    },
                )
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            events = [_chunk({"role": "assistant", "content": ""})]
            events += [_chunk({"content": p}) for p in pieces]
            events.append(_chunk({}, "stop"))
            if (body.get("stream_options") or {}).get("include_usage"):
                events.append({**_chunk({}), "choices": [], "usage": usage})
            for event in events:
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.flush()
                if pause:
                    time.sleep(pause)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler


@contextmanager
def fake_llm(script: list[Reply]) -> Iterator[FakeLLM]:
    """Run the server on 127.0.0.1 for the ``with`` block; ``state.base_url`` ends in ``/v1``."""
    state = FakeLLM("", list(script))
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


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """The ``(event name, JSON data)`` pairs of a ``text/event-stream`` body (codegraph serve's job streams)."""
    import re

    found = []
    for frame in text.split("\n\n"):
        name = re.search(r"^event: (.+)$", frame, re.MULTILINE)
        data = re.search(r"^data: (.+)$", frame, re.MULTILINE)
        if name and data:
            found.append((name.group(1), json.loads(data.group(1))))
    return found
