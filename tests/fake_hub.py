"""A local HTTP server speaking the part of the Hugging Face Hub protocol that ``huggingface_hub`` uses to
download a model (the real hub cannot be reached from the test machines).

Endpoints (as requested by ``HfApi.model_info`` and ``hf_hub_download``):

* ``GET /api/models/<repo>[/revision/<rev>]``: JSON ``{"id", "sha", "siblings": [{"rfilename"}]}``;
* ``HEAD|GET /<repo>/resolve/<rev>/<file>``: the file, with the ``X-Repo-Commit`` and ``ETag`` headers.

Unknown repositories answer 404 with ``X-Error-Code: RepoNotFound`` as the hub does.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class _Handler(BaseHTTPRequestHandler):
    repos: dict[str, Path] = {}
    requests: list[str] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def _repo_and_rest(self, path: str) -> tuple[Path | None, str, str]:
        for repo_id, folder in self.repos.items():
            if path == f"/api/models/{repo_id}" or path.startswith(f"/api/models/{repo_id}/revision/"):
                return folder, repo_id, "info"
            prefix = f"/{repo_id}/resolve/"
            if path.startswith(prefix):
                _, _, fname = path[len(prefix) :].partition("/")
                return folder, repo_id, fname
        return None, "", ""

    def _answer(self, body: bytes | None) -> None:
        self.requests.append(f"{self.command} {self.path}")
        folder, repo_id, what = self._repo_and_rest(self.path.split("?")[0])
        if folder is None:
            self.send_response(404)
            self.send_header("X-Error-Code", "RepoNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if what == "info":
            siblings = [{"rfilename": p.name} for p in sorted(folder.iterdir()) if p.is_file()]
            data = json.dumps({"id": repo_id, "modelId": repo_id, "sha": COMMIT, "siblings": siblings}).encode()
            content_type = "application/json"
        else:
            target = folder / what
            if not target.is_file():
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = target.read_bytes()
            content_type = "application/octet-stream"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("ETag", '"' + hashlib.sha256(data).hexdigest() + '"')
        self.end_headers()
        if body is None:
            self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(None)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(b"")


@contextmanager
def fake_hub(repos: dict[str, Path]) -> Iterator[tuple[str, list[str]]]:
    """Serve ``{repo_id: folder}`` on 127.0.0.1; yields ``(endpoint URL, list of requests seen)``."""
    handler = type("Handler", (_Handler,), {"repos": dict(repos), "requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.requests
    finally:
        server.shutdown()
        server.server_close()
