"""`codegraph generate`, `codegraph test`, `codegraph snippets` and `codegraph serve` on a PostgreSQL store (a real
server from ``pgserver``), with the real `openai` client against the local chat-completions server
(tests/fake_llm.py): snippets and test runs live in the project, projects do not see each other's, and a model
change keeps them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import RunCli, write_files
from .fake_llm import ANSWER, CODE, KEY, MODEL, TESTS, fake_llm, sse_events
from .pg import query

REVISED = ANSWER.replace("3 + random", "5 + random").replace("Explanation: Reuses", "Explanation: More tries. Reuses")


SYMBOL_TESTS = (
    "Title: retry_upload tests\n```python\nfrom app.retry import retry_upload\n\n\n"
    "class Client:\n    def put(self, payload):\n        return payload\n\n\n"
    "def test_returns_what_put_returns():\n    assert retry_upload(Client(), 7) == 7\n```\nExplanation: x"
)


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def pg_repo(tmp_repo: Path, pg_url: str, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_repo`` (an importable ``app`` package) indexed into the PostgreSQL store as project ``repo``."""
    write_files(tmp_repo, {"app/__init__.py": ""})
    _json(run_cli("index", ".", "--store", pg_url, "--model", "fast", "--json", "--quiet", cwd=tmp_repo))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return tmp_repo


def test_generate_refine_and_snippets_live_in_the_project(
    pg_repo: Path, pg_url: str, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ("--store", pg_url)
    with fake_llm([ANSWER, REVISED]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        made = _json(run_cli("generate", "upload a payload with retries and jitter", *store, "--json", cwd=pg_repo))
        child = _json(run_cli("generate", "--refine", str(made["id"]), "try more often", *store, "--json", cwd=pg_repo))
    assert made["language"] == "python" and made["model"] == MODEL and made["origin"] == "generate"
    assert "app/retry.py" in [c["path"] for c in made["context"]]  # retrieved through the store's search
    user = llm.requests[0].text("user")
    assert '<context id="1" path="app/' in user and "retry_upload" in user
    assert "<repo-map>\n" in user and "def retry_upload(" in user.split("</repo-map>")[0]  # graph_rank on the server
    assert child["parent_id"] == made["id"] and child["origin"] == "refine" and "5 + random" in child["code"]
    assert "try more often" in llm.requests[1].text("user")
    assert not (pg_repo / ".codegraph").exists()  # nothing local: the snippets live on the server

    listed = _json(run_cli("snippets", "list", *store, "--json", cwd=pg_repo))["snippets"]
    assert [s["id"] for s in listed] == [child["id"], made["id"]]
    shown = _json(run_cli("snippets", "show", str(made["id"]), *store, "--json", cwd=pg_repo))
    assert shown == {**made, "test_runs": []}
    rows = query(pg_url, "SELECT p.name, count(*) FROM snippets s JOIN projects p ON p.id = s.project_id GROUP BY 1")
    assert rows == [("repo", 2)]
    deleted = run_cli("snippets", "delete", str(made["id"]), *store, cwd=pg_repo)
    assert deleted.returncode == 0, deleted.stderr
    orphan = _json(run_cli("snippets", "show", str(child["id"]), *store, "--json", cwd=pg_repo))
    assert orphan["parent_id"] is None  # the revision stays, its parent is gone
    gone = run_cli("snippets", "show", str(made["id"]), *store, cwd=pg_repo)
    assert gone.returncode == 1 and f"no snippet {made['id']}" in gone.stderr


def test_test_records_runs_in_the_project(
    pg_repo: Path, pg_url: str, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEGRAPH_STORE", pg_url)  # the environment chooses the store as well as --store
    with fake_llm([CODE, TESTS, SYMBOL_TESTS]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        made = _json(run_cli("generate", "add and clamp helpers", "--lang", "python", "--json", cwd=pg_repo))
        ran = run_cli("test", str(made["id"]), "--json", cwd=pg_repo)
        symbol = run_cli("test", "app/retry.py::retry_upload", "--json", cwd=pg_repo / "app")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    report = json.loads(ran.stdout)
    assert report["passed"] is True and report["runner"]["name"] == "pytest"
    assert symbol.returncode == 0, symbol.stdout + symbol.stderr
    assert "def retry_upload(client, payload" in llm.requests[2].text("user")  # read from the project's root
    runs = query(
        pg_url,
        "SELECT p.name, t.snippet_id, t.target, t.round, t.passed, t.failed, t.results FROM test_runs t "
        "JOIN projects p ON p.id = t.project_id ORDER BY t.id",
    )
    assert [r[:6] for r in runs] == [
        ("repo", made["id"], str(made["id"]), 0, 2, 0),
        ("repo", None, "app/retry.py::retry_upload", 0, 1, 0),
    ]
    assert report["rounds"][0]["run_id"] == query(pg_url, "SELECT min(id) FROM test_runs")[0][0]
    assert {r["outcome"] for r in json.loads(runs[0][6])} == {"passed"}
    shown = _json(run_cli("snippets", "show", str(made["id"]), "--json", cwd=pg_repo))["test_runs"]
    assert [(r["id"], r["target"], r["passed"]) for r in shown] == [(report["rounds"][0]["run_id"], str(made["id"]), 2)]


def test_projects_do_not_see_each_others_snippets(
    pg_repo: Path, pg_url: str, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "billing"
    write_files(other, {"billing/invoice.py": "def render_invoice(order):\n    return str(order)\n"})
    _json(run_cli("index", ".", "--store", pg_url, "--model", "fast", "--json", "--quiet", cwd=other))
    store = ("--store", pg_url)
    with fake_llm([ANSWER]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        made = _json(run_cli("generate", "upload with jitter", "--lang", "python", *store, "--json", cwd=pg_repo))
    assert "render_invoice" not in llm.requests[0].text("user")  # the other project's code is not context

    assert _json(run_cli("snippets", "list", *store, "--json", cwd=other)) == {"snippets": []}
    hidden = run_cli("snippets", "show", str(made["id"]), *store, cwd=other)
    assert hidden.returncode == 1 and f"no snippet {made['id']}" in hidden.stderr
    assert run_cli("snippets", "delete", str(made["id"]), *store, cwd=other).returncode == 1
    named = _json(run_cli("snippets", "list", *store, "--project", "repo", "--json", cwd=other))["snippets"]
    assert [s["id"] for s in named] == [made["id"]]  # --project reaches it from anywhere

    query(pg_url, "DELETE FROM projects WHERE name = 'repo' RETURNING id")  # a project's snippets go with it
    assert query(pg_url, "SELECT count(*) FROM snippets") == [(0,)]


def test_a_model_change_of_the_project_keeps_its_snippets(
    pg_repo: Path, pg_url: str, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_llm([ANSWER]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        made = _json(run_cli("generate", "anything", "--lang", "python", "--store", pg_url, "--json", cwd=pg_repo))
    query(pg_url, "UPDATE meta SET value = 'other@0' WHERE key = 'model_id' RETURNING key")  # another model built it
    stats = _json(run_cli("index", ".", "--store", pg_url, "--model", "fast", "--json", "--quiet", cwd=pg_repo))
    assert stats["files_changed"] == stats["files_seen"]  # the project was emptied and rebuilt ...
    shown = _json(run_cli("snippets", "show", str(made["id"]), "--store", pg_url, "--json", cwd=pg_repo))
    assert shown == {**made, "test_runs": []}  # ... and its snippet kept


def test_serve_generates_refines_tests_and_lists_snippets_over_a_postgresql_store(
    pg_repo: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("fastapi", reason="codegraph serve needs the serve extra (fastapi, uvicorn, jinja2)")
    from fastapi.testclient import TestClient

    from codegraph.serve.app import create_app
    from codegraph.service import Workspace

    query(pg_url, "UPDATE projects SET name = 'shop' RETURNING id")  # not the name the root would get by default
    write_files(pg_repo, {"app/extra.py": "def extra():\n    return 1\n"})  # the first request refreshes
    with (
        Workspace.open(pg_repo / "app", store=pg_url) as ws,
        TestClient(create_app(ws), base_url="http://127.0.0.1") as client,
        fake_llm([ANSWER, REVISED, CODE, TESTS]) as llm,
    ):
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        assert ws.store.backend == "postgresql" and ws.root == pg_repo.resolve()
        made = sse_events(client.post("/api/generate", json={"request": "upload with retries and jitter"}).text)
        assert made[-1][0] == "snippet", made
        first = made[-1][1]
        assert "".join(d["text"] for n, d in made if n == "token") == ANSWER
        assert client.get(f"/api/snippets/{first['id']}").json() == {**first, "test_runs": []}
        refined = sse_events(client.post(f"/api/snippets/{first['id']}/refine", json={"feedback": "more tries"}).text)
        assert refined[-1][0] == "snippet" and refined[-1][1]["parent_id"] == first["id"]
        code = sse_events(client.post("/api/generate", json={"request": "add and clamp", "lang": "python"}).text)[-1][1]
        ran = sse_events(client.post(f"/api/snippets/{code['id']}/test", json={"timeout_s": 60}).text)
        assert ran[-1][0] == "result" and ran[-1][1]["passed"] is True, ran
        (run,) = client.get(f"/api/snippets/{code['id']}").json()["test_runs"]  # read back from the project
        assert (run["id"], run["passed"], run["failed"]) == (ran[-1][1]["rounds"][0]["run_id"], 2, 0)
        listed = client.get("/api/snippets").json()["snippets"]
        assert [s["id"] for s in listed] == [code["id"], refined[-1][1]["id"], first["id"]]
        page = client.get("/snippets", params={"id": first["id"]})
        assert page.status_code == 200 and "Upload with retries and jitter" in page.text
        assert client.delete(f"/api/snippets/{first['id']}").json() == {"deleted": first["id"]}
        assert client.get(f"/api/snippets/{first['id']}").status_code == 404
    assert query(pg_url, "SELECT count(*) FROM test_runs WHERE snippet_id = %s", (code["id"],)) == [(1,)]
    assert query(pg_url, "SELECT name FROM projects") == [("shop",)]  # the refresh wrote the project served ...
    assert query(pg_url, "SELECT count(*) FROM files WHERE path = 'app/extra.py'") == [(1,)]  # ... into it
