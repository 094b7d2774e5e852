"""`codegraph test`: generated tests run in the real sandbox (real pytest / node subprocesses), with the real
`openai` client talking to the local chat-completions server (tests/fake_llm.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .conftest import RunCli, write_files
from .fake_llm import fake_llm

CODE = (
    "Title: Clamp and add\n```python\n"
    "def add(a, b):\n    return a + b\n\n\n"
    "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n"
    "```\nExplanation: Two small helpers."
)

TESTS_ONE_WRONG = (
    "Title: Tests for add and clamp\n```python\n"
    "from snippet import add, clamp\n\n\n"
    "def test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_clamp_upper():\n    assert clamp(15, 0, 10) == 15\n"
    "```\nExplanation: Covers both helpers."
)

TESTS_FIXED = (
    "Fix: tests\n```python\n"
    "from snippet import add, clamp\n\n\n"
    "def test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_clamp_upper():\n    assert clamp(15, 0, 10) == 10\n"
    "```\nExplanation: The test expected the unclamped value; clamp(15, 0, 10) is 10."
)


def contained_tests(canary: Path) -> str:
    """Generated tests that try to leak the API key and to write outside their directory."""
    return (
        "Title: hostile tests\n```python\n"
        "import os\nfrom pathlib import Path\n\n\n"
        "def test_no_secret_in_the_environment():\n"
        "    leaked = [k for k, v in os.environ.items() if 'SECRET' in v or k.endswith('API_KEY')]\n"
        "    assert leaked == []\n\n\n"
        "def test_cannot_write_outside():\n"
        f"    target = Path({str(canary)!r})\n"
        "    try:\n        target.write_text('pwned')\n    except OSError:\n        return\n"
        "    raise AssertionError('wrote outside the sandbox')\n"
        "```\nExplanation: x"
    )


@pytest.fixture
def repo(tmp_repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_files(
        tmp_repo,
        {
            "calc/__init__.py": "",
            "calc/mathops.py": '''
                def clamp(x, lo, hi):
                    """Limit x to the range [lo, hi]."""
                    return max(lo, min(x, hi))
                ''',
        },
    )
    assert run_cli("index", ".", "-q", cwd=tmp_repo).returncode == 0
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-42")
    return tmp_repo


def test_generated_tests_run_in_the_sandbox_and_report_per_test(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_llm([CODE, TESTS_ONE_WRONG]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        assert run_cli("generate", "add and clamp helpers", cwd=repo).returncode == 0
        proc = run_cli("test", "1", cwd=repo)
    assert proc.returncode == 1  # a test failed
    assert "PASSED  test_snippet.py::test_add" in proc.stdout
    assert "FAILED  test_snippet.py::test_clamp_upper" in proc.stdout
    assert "assert 10 == 15" in proc.stdout  # the failure's output is shown
    assert "1 passed, 1 failed" in proc.stdout
    request = llm.requests[1]
    assert "pytest" in request.text("system") and "from snippet import add, clamp" in request.text("system")
    assert '<code language="python" file="snippet.py">' in request.text("user")


def test_fix_repairs_the_tests_and_keeps_every_round(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_llm([CODE, TESTS_ONE_WRONG, TESTS_FIXED]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        assert run_cli("generate", "add and clamp helpers", cwd=repo).returncode == 0
        proc = run_cli("test", "1", "--fix", "2", "--json", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["passed"] is True
    assert [(r["round"], r["passed"], r["failed"], r["fixed"]) for r in result["rounds"]] == [
        (0, 1, 1, ""),
        (1, 2, 0, "tests"),
    ]
    assert "unclamped" in result["rounds"][1]["explanation"]
    fix_request = llm.requests[2]
    user = fix_request.text("user")
    assert "<test-output>" in user and "test_clamp_upper" in user and "<tests>" in user
    assert len(llm.requests) == 3  # stopped once green, although 2 rounds were allowed


def test_fix_of_the_code_becomes_a_new_snippet_revision(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    buggy = CODE.replace("return a + b", "return a - b")
    tests = TESTS_ONE_WRONG.replace("== 15", "== 10")
    repaired = "Fix: code\n" + CODE.split("\n", 1)[1].replace(
        "Explanation: Two small helpers.", "Explanation: add subtracted."
    )
    with fake_llm([buggy, tests, repaired]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        assert run_cli("generate", "add and clamp helpers", cwd=repo).returncode == 0
        proc = run_cli("test", "1", "--fix", "1", "--json", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    rounds = json.loads(proc.stdout)["rounds"]
    assert [(r["failed"], r["fixed"], r["snippet_id"]) for r in rounds] == [(1, "", 1), (0, "code", 2)]
    revision = json.loads(run_cli("snippets", "show", "2", "--json", cwd=repo).stdout)
    assert (revision["parent_id"], revision["origin"]) == (1, "fix") and "return a + b" in revision["code"]


def test_an_indexed_symbol_is_tested_from_a_copy_of_its_file(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    tests = (
        "Title: clamp tests\n```python\nfrom calc.mathops import clamp\n\n\n"
        "def test_inside():\n    assert clamp(5, 0, 10) == 5\n\n\n"
        "def test_below():\n    assert clamp(-3, 0, 10) == 0\n```\nExplanation: x"
    )
    with fake_llm([tests]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        proc = run_cli("test", "calc/mathops.py::clamp", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed, 0 failed" in proc.stdout
    system, user = llm.requests[0].text("system"), llm.requests[0].text("user")
    assert "from calc.mathops import clamp" in system
    assert "def clamp(x, lo, hi):" in user


def test_unknown_symbol_target(repo: Path, run_cli: RunCli) -> None:
    proc = run_cli("test", "calc/mathops.py::nope", cwd=repo)
    assert proc.returncode == 1 and "no definition 'nope' in calc/mathops.py" in proc.stderr


def test_hostile_generated_tests_are_contained(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    canary_dir = tmp_path / "outside"
    canary_dir.mkdir(mode=0o777)  # even a world-writable directory outside the sandbox must stay untouched
    canary_dir.chmod(0o777)
    looping = "Title: loops\n```python\n\ndef test_forever():\n    while True:\n        pass\n```\nExplanation: x"
    with fake_llm([CODE, contained_tests(canary_dir / "canary.txt"), looping]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        assert run_cli("generate", "helpers", cwd=repo).returncode == 0
        proc = run_cli("test", "1", "--json", cwd=repo)
        assert proc.returncode == 0, proc.stdout + proc.stderr  # both hostile tests "pass": nothing leaked
        looped = run_cli("test", "1", "--timeout", "2", "--json", cwd=repo, timeout=120)
    assert not (canary_dir / "canary.txt").exists()
    assert looped.returncode == 1
    last = json.loads(looped.stdout)["rounds"][-1]
    assert last["sandbox"]["timed_out"] is True
    assert "sk-test-SECRET-42" not in proc.stdout + looped.stdout


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_snippets_run_under_node_test(repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    js_code = (
        "Title: slugify\n```javascript\n"
        "function slugify(s) {\n  return s.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-');\n}\n"
        "module.exports = { slugify };\n```\nExplanation: x"
    )
    js_tests = (
        "Title: slugify tests\n```javascript\n"
        "const test = require('node:test');\nconst assert = require('node:assert/strict');\n"
        "const { slugify } = require('./snippet.js');\n\n"
        "test('lowercases and dashes', () => { assert.equal(slugify(' Hello World '), 'hello-world'); });\n"
        "test('wrong on purpose', () => { assert.equal(slugify('a b'), 'a_b'); });\n"
        "```\nExplanation: x"
    )
    with fake_llm([js_code, js_tests]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        assert run_cli("generate", "slugify a title", "--lang", "javascript", cwd=repo).returncode == 0
        proc = run_cli("test", "1", "--json", cwd=repo)
    assert proc.returncode == 1
    tests = {t["name"].split(" > ")[-1]: t["outcome"] for t in json.loads(proc.stdout)["rounds"][0]["tests"]}
    assert tests == {"lowercases and dashes": "passed", "wrong on purpose": "failed"}
    assert "node:test" in llm.requests[1].text("system")


def test_a_snippet_can_import_the_repositorys_own_modules_in_the_sandbox(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = (
        "Title: Clamp a percentage\n```python\n"
        "from calc.mathops import clamp\n\n\n"
        "def clamp_percent(x):\n    return clamp(x, 0, 100)\n"
        "```\nExplanation: Reuses calc.mathops.clamp."
    )
    tests = (
        "Title: t\n```python\nfrom snippet import clamp_percent\n\n\n"
        "def test_over():\n    assert clamp_percent(130) == 100\n```\nExplanation: x"
    )
    with fake_llm([code, tests]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        assert run_cli("generate", "clamp a percentage", cwd=repo).returncode == 0
        proc = run_cli("test", "1", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 0 failed" in proc.stdout
    assert "importable as in the repository" in llm.requests[1].text("system")
