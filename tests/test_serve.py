"""`codegraph serve`: the FastAPI app through TestClient (every endpoint, errors, token rules, the page, generate /
refine / test streamed as server-sent events against the local chat-completions server), and the real command
(uvicorn in a subprocess)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="codegraph serve needs the serve extra (fastapi, uvicorn, jinja2)")

from fastapi.testclient import TestClient  # noqa: E402

from codegraph.embed import OnnxEncoder  # noqa: E402
from codegraph.index import index_repo  # noqa: E402
from codegraph.serve.app import create_app  # noqa: E402
from codegraph.service import Workspace  # noqa: E402
from codegraph.store import Store  # noqa: E402

from .conftest import CODEGRAPH, default_sigint, write_files  # noqa: E402
from .fake_llm import ANSWER, CODE, KEY, MODEL, TESTS, Status, fake_llm, sse_events  # noqa: E402

BASE = "http://127.0.0.1"


REVISED = (
    "Title: Upload with bounded jitter\n"
    "```python\n"
    "import random\n\n"
    "def upload_with_jitter(client, payload, spread=2):\n"
    "    return retry_upload(client, payload, attempts=3 + random.randint(0, spread))\n"
    "```\n"
    "Explanation: The spread is a parameter now."
)


@pytest.fixture
def repo(tmp_repo: Path, encoder: OnnxEncoder) -> Path:
    write_files(
        tmp_repo,
        {
            "app/__init__.py": "",
            "app/upload.py": "from .retry import retry_upload\n\n\n"
            "def upload(client, data):\n    return retry_upload(client, data)\n",
        },
    )
    index_repo(tmp_repo, encoder)
    return tmp_repo


@pytest.fixture
def workspace(repo: Path) -> Iterator[Workspace]:
    with Workspace.open(repo) as ws:
        yield ws


@pytest.fixture
def client(workspace: Workspace) -> Iterator[TestClient]:
    with TestClient(create_app(workspace), base_url=BASE) as c:
        yield c


def test_the_api_answers_in_the_cli_shapes(client: TestClient, workspace: Workspace) -> None:
    found = client.get("/api/search", params={"q": "retry failed uploads with backoff", "k": 3}).json()
    assert found == workspace.search("retry failed uploads with backoff", k=3)  # the workspace's own answer
    assert found["results"][0]["path"] == "app/retry.py" and found["results"][0]["symbol"] == "retry_upload"
    assert set(found["results"][0]) >= {"path", "start_line", "end_line", "symbol", "kind", "language", "score"}
    keyword = client.get("/api/search", params={"q": "cartTotal", "mode": "keyword", "lang": "javascript"}).json()
    assert keyword["mode"] == "keyword" and {r["language"] for r in keyword["results"]} == {"javascript"}
    globbed = client.get("/api/search", params={"q": "health", "path": "cmd/**"}).json()
    assert {r["path"] for r in globbed["results"]} == {"cmd/server.go"}

    assert client.get("/api/status").json()["files"] == workspace.status()["files"]
    files = client.get("/api/files").json()["files"]
    assert {"path": "app/retry.py", "language": "python"} in files
    assert client.get("/api/tree").json()["kind"] == "project"
    assert client.get("/api/tree", params={"path": "app", "blocks": True}).json()["path"] == "app"
    outline = client.get("/api/files/app/retry.py/blocks").json()
    assert outline["path"] == "app/retry.py"
    assert [r["symbol"] for r in outline["results"]][:3] == ["MAX_ATTEMPTS", "retry_upload", "RateLimiter"]
    by_file = client.get("/api/blocks", params={"file": "app/retry.py"}).json()
    by_module = client.get("/api/blocks", params={"module": "app.retry"}).json()
    assert by_file == by_module and by_file["kind"] == "file"
    assert {c["symbol"] for c in by_file["children"]} >= {"retry_upload", "RateLimiter"}
    package = client.get("/api/blocks", params={"module": "app"}).json()
    assert package["kind"] == "directory"
    read = client.get("/api/read", params={"path": "app/retry.py", "start_line": 8, "end_line": 9}).json()
    assert read["text"].startswith("def retry_upload(") and read["start_line"] == 8

    assert [r["path"] for r in client.get("/api/definition", params={"name": "retry_upload"}).json()["results"]] == [
        "app/retry.py"
    ]
    refs = client.get("/api/references", params={"name": "retry_upload"}).json()["results"]
    assert {r["symbol"] for r in refs} >= {"upload"}
    callers = client.get("/api/callers", params={"name": "retry_upload", "depth": 2}).json()["results"]
    assert {r["symbol"] for r in callers} == {"upload"}
    assert client.get("/api/callees", params={"name": "upload"}).json()["results"][0]["symbol"] == "retry_upload"
    assert client.get("/api/deps", params={"path": "app/upload.py"}).json()["imports"] == [
        {"path": "app/retry.py", "line": 1}
    ]
    assert client.get("/api/snippets").json() == {"snippets": []}
    schema = client.get("/openapi.json").json()
    assert {"/api/search", "/api/generate", "/api/snippets/{snippet_id}/test"} <= set(schema["paths"])
    # The API reference pages load their scripts from this server, not from a CDN (blank offline before).
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
        assert scripts and not [s for s in scripts if s.startswith(("http:", "https:", "//"))], (page, scripts)
        for src in scripts:
            assert client.get(src).status_code == 200, src


def test_an_unfinished_index_is_said_by_the_api_and_the_page(repo: Path) -> None:
    with Store.open(repo) as store:  # what a killed run leaves: started after the last finished run
        store.set_meta({"run_started_at": f"{time.time() + 60:.3f}"})
    with Workspace.open(repo, freshness="off") as ws, TestClient(create_app(ws), base_url=BASE) as c:
        found = c.get("/api/search", params={"q": "retry failed uploads", "k": 1}).json()
        assert found["results"] and "did not finish" in found["notice"]
        assert "Note: the last index run did not finish" in c.get("/", params={"q": "retry"}).text


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/api/search", 400, "q: Field required"),
        ("/api/search?q=x&mode=fuzzy", 400, "unknown search mode"),
        ("/api/search?q=x&lang=cobol", 400, "cobol"),
        ("/api/callers?name=x&depth=11", 400, "depth"),
        ("/api/blocks", 400, "exactly one of"),
        ("/api/blocks?module=nothing.here", 404, "no indexed module"),
        ("/api/files/app/missing.py/blocks", 404, "not an indexed file"),
        ("/api/read?path=.env", 404, "not an indexed file"),
        ("/api/read?path=app/retry.py&start_line=999", 404, "past its end"),
        ("/api/tree?path=nowhere", 404, "no indexed file"),
        ("/api/snippets/7", 404, "no snippet 7"),
        ("/api/no-such-route", 404, "no such page"),
    ],
)
def test_errors_are_json_with_a_status_that_fits(client: TestClient, url: str, status: int, message: str) -> None:
    answer = client.get(url)
    assert answer.status_code == status
    assert message in answer.json()["error"]


def test_the_token_guards_every_request(workspace: Workspace) -> None:
    token = "t0k3n-" + "x" * 20
    with TestClient(create_app(workspace, token=token), base_url="http://10.1.2.3:8000") as c:
        assert c.get("/api/status").status_code == 401
        assert "token" in c.get("/api/status").json()["error"]
        assert c.get("/api/status", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/status", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        page = c.get("/?q=retry")
        assert page.status_code == 401 and "?token=" in page.text and token not in page.text
        # The page's link: the token becomes a cookie and leaves the address bar.
        first = c.get(f"/?q=retry&token={token}", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/?q=retry"
        cookie = first.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "codegraph_token=" in cookie
        assert c.get("/?q=retry").status_code == 200  # the client kept the cookie
        assert c.get("/api/snippets").status_code == 200  # the cookie works for the page's own API calls
        c.cookies.clear()
        c.cookies.set("codegraph_token", "stale")
        assert c.get("/api/snippets").status_code == 401


def test_without_a_token_only_loopback_same_origin_json_requests_pass(client: TestClient) -> None:
    assert client.get("/api/status", headers={"Host": "evil.example"}).status_code == 403  # DNS rebinding
    assert client.get("/api/status", headers={"Host": "localhost:8000"}).status_code == 200
    assert client.get("/api/status", headers={"Host": "[::1]:8000"}).status_code == 200
    form = client.post("/api/generate", content="request=x", headers={"Content-Type": "text/plain"})
    assert form.status_code == 415  # a cross-site form cannot post without a CORS preflight
    cross = client.post("/api/generate", json={"request": "x"}, headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    assert client.delete("/api/snippets/1", headers={"Origin": "http://evil.example"}).status_code == 403
    preflight = client.options(
        "/api/generate", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers  # no CORS


def test_generate_streams_the_answer_and_stores_the_snippet(
    client: TestClient, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with fake_llm([ANSWER, REVISED]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        answer = client.post("/api/generate", json={"request": "upload a payload with retries and random jitter"})
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
        got = sse_events(answer.text)
        refined = client.post("/api/snippets/1/refine", json={"feedback": "make the spread a parameter"})
        revision = sse_events(refined.text)
    names = [name for name, _ in got]
    assert names[0] == "status" and names[-1] == "snippet" and "token" in names
    assert "".join(d["text"] for n, d in got if n == "token") == ANSWER  # streamed piece by piece
    assert sum(1 for n in names if n == "token") > 5
    language = next(d for n, d in got if n == "status" and "language" in d)
    assert language["language"] == "python" and language["context"][0]["path"] == "app/retry.py"
    snippet = got[-1][1]
    assert snippet["id"] == 1 and snippet["title"] == "Upload with retries and jitter"
    assert snippet["language"] == "python" and snippet["model"] == MODEL
    assert client.get("/api/snippets/1").json() == {**snippet, "test_runs": []}
    request = llm.requests[0]
    assert request.headers["authorization"] == f"Bearer {KEY}"  # the key went to the model server only
    assert '<context id="1" path="app/retry.py"' in request.text("user")
    assert revision[-1][0] == "snippet" and revision[-1][1]["parent_id"] == 1 and revision[-1][1]["id"] == 2
    assert "make the spread a parameter" in llm.requests[1].text("user")
    for text in (answer.text, refined.text):
        assert KEY not in text
    listed = client.get("/api/snippets").json()["snippets"]
    assert [s["id"] for s in listed] == [2, 1]
    assert client.delete("/api/snippets/1").json() == {"deleted": 1}
    assert client.get("/api/snippets/1").status_code == 404
    assert client.delete("/api/snippets/1").status_code == 404


def test_model_failures_are_errors_not_stack_traces(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    no_key = client.post("/api/generate", json={"request": "anything"})
    assert no_key.status_code == 502 and "OPENAI_API_KEY" in no_key.json()["error"]
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert client.post("/api/generate", json={"request": "x", "lang": "cobol"}).status_code == 400
    assert client.post("/api/generate", json={"request": ""}).status_code == 400
    assert client.post("/api/snippets/5/refine", json={"feedback": "x"}).status_code == 404
    assert client.post("/api/snippets/5/test", json={}).status_code == 404
    with fake_llm([Status(401, "bad key"), "no code block here"]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        rejected = sse_events(client.post("/api/generate", json={"request": "anything", "lang": "python"}).text)
        malformed = sse_events(client.post("/api/generate", json={"request": "anything", "lang": "python"}).text)
    assert rejected[-1] == ("error", {"error": rejected[-1][1]["error"], "status": 502})
    assert "rejected the API key" in rejected[-1][1]["error"] and KEY not in rejected[-1][1]["error"]
    assert malformed[-1][0] == "error" and malformed[-1][1]["status"] == 502
    assert client.get("/api/snippets").json() == {"snippets": []}  # nothing stored


def test_test_runs_the_generated_tests_in_the_sandbox(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with fake_llm([CODE, TESTS]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        sse_events(client.post("/api/generate", json={"request": "add and clamp", "lang": "python"}).text)
        ran = sse_events(client.post("/api/snippets/1/test", json={"fix": 0, "timeout_s": 60}).text)
    names = [n for n, _ in ran]
    assert names[-1] == "result" and "round" in names, ran
    result = ran[-1][1]
    assert result["passed"] is True and result["target"] == "1" and result["runner"]["name"] == "pytest"
    (round_,) = result["rounds"]
    assert {t["name"].rsplit("::", 1)[-1]: t["outcome"] for t in round_["tests"]} == {
        "test_add": "passed",
        "test_clamp_upper": "passed",
    }
    assert dict(ran)["round"] == round_
    (stored,) = client.get("/api/snippets/1").json()["test_runs"]  # the round is read back with the snippet
    assert (stored["id"], stored["round"], stored["passed"], stored["failed"]) == (round_["run_id"], 0, 2, 0)


def test_the_page_renders_search_browse_and_snippets(
    client: TestClient, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = client.get("/")
    assert home.status_code == 200 and 'id="q"' in home.text and "autofocus" in home.text
    page = client.get("/", params={"q": "retry failed uploads with backoff"})
    assert page.status_code == 200
    assert "app/retry.py" in page.text and ":8–17" in page.text and "retry_upload" in page.text
    assert '<span class="k">def</span>' in page.text  # Pygments highlighting
    assert '<span class="normal">8</span>' in page.text  # line numbers are the file's
    bad = client.get("/", params={"q": "x", "mode": "fuzzy"})
    assert bad.status_code == 400 and "unknown search mode" in bad.text and "Something went wrong" in bad.text
    browse = client.get("/browse", params={"path": "app/retry.py", "start": 22, "end": 33})
    assert (
        browse.status_code == 200 and "RateLimiter" in browse.text and '<span class="normal">22</span>' in browse.text
    )
    assert client.get("/browse", params={"path": "nope.py"}).status_code == 404
    assert client.get("/highlight.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/app.js").status_code == 200

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with fake_llm([ANSWER]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        client.post("/api/generate", json={"request": "upload with jitter"})
    listing = client.get("/snippets")
    assert "Upload with retries and jitter" in listing.text and 'class="delete"' in listing.text
    opened = client.get("/snippets", params={"id": 1})
    assert "upload_with_jitter" in opened.text and 'id="refine-form"' in opened.text
    assert 'class="delete"' not in opened.text  # no delete while a snippet is open
    missing = client.get("/snippets", params={"id": 9})
    assert missing.status_code == 404 and "no snippet 9" in missing.text


def _start_server(repo: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [*CODEGRAPH, "serve", "--port", "0", *args],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
        preexec_fn=default_sigint,
    )
    assert proc.stderr is not None
    guard = threading.Timer(120, proc.kill)
    guard.start()
    line = proc.stderr.readline()
    guard.cancel()
    found = re.search(r"(http://\S+)", line)
    assert found, line + proc.stderr.read()
    return proc, found.group(1)


@pytest.mark.slow
def test_the_command_serves_over_http(repo: Path) -> None:
    proc, url = _start_server(repo)
    try:
        assert url.startswith("http://127.0.0.1:") and "token" not in url
        with urllib.request.urlopen(url + "api/search?q=retry+uploads&k=2", timeout=60) as answer:
            found = json.load(answer)
        assert found["results"][0]["path"] == "app/retry.py"
        with urllib.request.urlopen(url + "?q=retry+uploads", timeout=60) as answer:
            assert "app/retry.py" in answer.read().decode()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


@pytest.mark.slow
def test_the_command_needs_a_token_off_loopback(repo: Path) -> None:
    refused = subprocess.run(
        [*CODEGRAPH, "serve", "--host", "0.0.0.0"], cwd=repo, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert "--token" in refused.stderr and "CODEGRAPH_SERVE_TOKEN" in refused.stderr
    proc, url = _start_server(repo, "--host", "0.0.0.0", "--token", "s3cret-token-value")
    try:
        assert url.endswith("/?token=s3cret-token-value")
        base = url.split("?")[0]
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(base + "api/status", timeout=60)
        assert denied.value.code == 401
        denied.value.close()
        request = urllib.request.Request(base + "api/status", headers={"Authorization": "Bearer s3cret-token-value"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            assert json.load(answer)["files"] > 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


def test_without_the_extra_serve_says_how_to_install_it(repo: Path) -> None:
    code = "import sys; sys.modules['fastapi'] = None; from codegraph.cli import main; sys.exit(main(['serve']))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "needs fastapi" in proc.stderr and "[serve]" in proc.stderr and "pip install" in proc.stderr
