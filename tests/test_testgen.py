"""`codegraph test`: generated tests run in the real sandbox (real pytest / node / tsx / ruby / go subprocesses, real
virtualenvs), with the real `openai` client talking to the local chat-completions server (tests/fake_llm.py)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from codegraph._compat import tomllib
from codegraph.assist import prompts

from .conftest import RunCli, write_files
from .fake_llm import CODE, fake_llm
from .project_envs import NO_TYPESCRIPT, build_wheel, make_venv

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
    shown = json.loads(run_cli("snippets", "show", "1", "--json", cwd=repo).stdout)
    runs = shown["test_runs"]  # every round is read back, oldest first, with each test's outcome
    assert [(r["id"], r["round"], r["passed"], r["failed"]) for r in runs] == [
        (result["rounds"][0]["run_id"], 0, 1, 1),
        (result["rounds"][1]["run_id"], 1, 2, 0),
    ]
    assert {t["name"]: t["outcome"] for t in runs[0]["results"]} == {
        "test_snippet.py::test_add": "passed",
        "test_snippet.py::test_clamp_upper": "failed",
    }
    assert "assert clamp(15, 0, 10) == 10" in runs[1]["tests"] and runs[1]["snippet_id"] == 1
    human = run_cli("snippets", "show", "1", cwd=repo).stdout
    assert "round 0" in human and "1 passed, 1 failed" in human and "2 passed, 0 failed" in human


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


# -- the project's own interpreter (issue 11, item 1) -----------------------------------------------------------

USES_DEP = "import thatdep\n\n\ndef double(x):\n    return thatdep.times(x, 2)\n"
DEP_TESTS = (
    "Title: double tests\n```python\nfrom calc.uses_dep import double\n\n\n"
    "def test_double():\n    assert double(4) == 8\n```\nExplanation: x"
)


@pytest.fixture
def py_project(tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An indexed repository under $HOME whose code imports `thatdep`, a package that only its own virtualenv
    (made later by each test) has."""
    home = tmp_path / "home"
    repo = home / "proj"
    write_files(repo, {".gitignore": ".venv/\nvenv/\n", "calc/__init__.py": "", "calc/uses_dep.py": USES_DEP})
    assert run_cli("index", ".", "-q", cwd=repo).returncode == 0
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-42")
    return repo


@pytest.fixture(scope="module")
def thatdep_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheels"), "thatdep", "def times(a, b):\n    return a * b\n")


def test_python_tests_run_with_the_projects_virtualenv(
    py_project: Path, thatdep_wheel: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = make_venv(py_project / ".venv", pytest=True, wheels=(thatdep_wheel,))
    with fake_llm([DEP_TESTS]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        proc = run_cli("test", "calc/uses_dep.py::double", "--json", cwd=py_project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["runner"]["command"] == [str(python)] and result["runner"]["origin"] == ".venv in the repository"
    assert result["runner"]["version"][0].isdigit()
    assert [(t["name"], t["outcome"]) for t in result["rounds"][0]["tests"]] == [
        ("test_snippet.py::test_double", "passed")
    ]


def test_a_project_interpreter_without_pytest_is_refused_before_any_model_call(
    py_project: Path, thatdep_wheel: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = make_venv(py_project / ".venv", pytest=False, wheels=(thatdep_wheel,))
    with fake_llm([DEP_TESTS]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        proc = run_cli("test", "calc/uses_dep.py::double", cwd=py_project)
        missing = run_cli("test", "calc/uses_dep.py::double", "--python", "nowhere/bin/python", cwd=py_project)
    assert llm.requests == []  # nothing was asked of the model
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"pytest is not installed for {python} (.venv in the repository)" in proc.stderr
    assert f"install it with: {python} -m pip install pytest" in proc.stderr and "--python" in proc.stderr
    assert missing.returncode == 1 and "proj/nowhere/bin/python: not an executable file" in missing.stderr


def test_python_flag_and_active_virtualenv_choose_the_interpreter(
    py_project: Path, thatdep_wheel: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    make_venv(py_project / ".venv", pytest=False)  # would be refused
    good = make_venv(tmp_path / "envs" / "good", pytest=True, wheels=(thatdep_wheel,))
    with fake_llm([DEP_TESTS]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        flag = run_cli("test", "calc/uses_dep.py::double", "--python", "../../envs/good", "--json", cwd=py_project)
        monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path / "envs" / "good"))
        active = run_cli("test", "calc/uses_dep.py::double", "--json", cwd=py_project)
        monkeypatch.setenv("CODEGRAPH_PYTHON", str(py_project / ".venv"))  # the setting beats $VIRTUAL_ENV
        setting = run_cli("test", "calc/uses_dep.py::double", cwd=py_project)
    assert flag.returncode == 0, flag.stdout + flag.stderr
    assert json.loads(flag.stdout)["runner"] == {
        "name": "pytest",
        "version": json.loads(flag.stdout)["runner"]["version"],
        "command": [str(good)],
        "origin": "--python",
    }
    assert active.returncode == 0, active.stdout + active.stderr
    assert json.loads(active.stdout)["runner"]["origin"] == "$VIRTUAL_ENV"
    assert setting.returncode == 1 and "pytest is not installed for" in setting.stderr
    assert len(llm.requests) == 2  # the refused run asked nothing


def test_without_a_project_environment_codegraphs_own_pytest_runs_the_tests(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    with fake_llm([CODE, TESTS_FIXED.replace("Fix: tests", "Title: t")]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        assert run_cli("generate", "add and clamp helpers", cwd=repo).returncode == 0
        proc = run_cli("test", "1", "--json", "-v", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runner = json.loads(proc.stdout)["runner"]
    assert (runner["command"], runner["origin"]) == ([sys.executable], "codegraph's own interpreter")
    assert f"runner: pytest {runner['version']} with {sys.executable} (codegraph's own interpreter)" in proc.stderr


def test_pytest_is_a_dependency_of_codegraph() -> None:
    """`codegraph test` works straight after `pip install codegraph-search`: its own interpreter has pytest."""
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert "pytest" in {Requirement(dep).name for dep in project["dependencies"]}


def test_the_repositorys_own_tests_do_not_run_with_the_generated_ones(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_files(repo, {"tests/test_own.py": "def test_own_suite():\n    assert False, 'the repository test ran'\n"})
    assert run_cli("index", ".", "-q", cwd=repo).returncode == 0
    tests = (
        "Title: clamp tests\n```python\nfrom calc.mathops import clamp\n\n\n"
        "def test_inside():\n    assert clamp(5, 0, 10) == 5\n```\nExplanation: x"
    )
    with fake_llm([tests]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        proc = run_cli("test", "calc/mathops.py::clamp", "--json", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [t["name"] for t in json.loads(proc.stdout)["rounds"][0]["tests"]] == ["test_snippet.py::test_inside"]


# -- TypeScript, Go and Ruby (issue 11, item 2) -----------------------------------------------------------------

TS_CODE = (
    "Title: discount\n```typescript\n"
    "export function discount(total: number, pct: number): number {\n  return total * (1 - pct / 100);\n}\n"
    "```\nExplanation: x"
)
TS_TESTS = (
    "Title: discount tests\n```typescript\n"
    "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\n"
    "import { discount } from './snippet.ts';\n\n"
    "test('ten percent', () => { assert.equal(discount(200, 10), 180); });\n"
    "test('wrong on purpose', () => { assert.equal(discount(100, 50), 40); });\n"
    "```\nExplanation: x"
)
GO_CODE = (
    "Title: reverse\n```go\npackage strutil\n\n"
    "// Reverse returns s with its runes in reverse order.\n"
    "func Reverse(s string) string {\n    r := []rune(s)\n"
    "    for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {\n        r[i], r[j] = r[j], r[i]\n    }\n"
    "    return string(r)\n}\n```\nExplanation: x"
)
GO_TESTS = (
    'Title: reverse tests\n```go\npackage strutil\n\nimport "testing"\n\n'
    "func TestReverse(t *testing.T) {\n"
    '    for _, c := range []struct{ in, want string }{{"abc", "cba"}, {"héllo", "olléh"}, {"", ""}} {\n'
    '        if got := Reverse(c.in); got != c.want {\n            t.Errorf("Reverse(%q) = %q", c.in, got)\n'
    "        }\n    }\n}\n\n"
    'func TestWrong(t *testing.T) {\n    if Reverse("ab") != "ab" {\n        t.Fatal("wrong on purpose")\n'
    "    }\n}\n```\nExplanation: x"
)
RUBY_CODE = "Title: slug\n```ruby\ndef slug(s)\n  s.strip.downcase.gsub(/[^a-z0-9]+/, '-')\nend\n```\nExplanation: x"
RUBY_TESTS = (
    "Title: slug tests\n```ruby\nrequire 'minitest/autorun'\nrequire_relative 'snippet'\n\n"
    "class SlugTest < Minitest::Test\n  def test_dashes\n    assert_equal 'a-b', slug(' A B ')\n  end\n\n"
    "  def test_wrong\n    assert_equal 'a_b', slug('a b')\n  end\nend\n```\nExplanation: x"
)


@pytest.mark.parametrize(
    ("language", "code", "tests", "expected"),
    [
        pytest.param(
            "typescript",
            TS_CODE,
            TS_TESTS,
            {"ten percent": "passed", "wrong on purpose": "failed"},
            marks=pytest.mark.skipif(NO_TYPESCRIPT is not None, reason=str(NO_TYPESCRIPT)),
        ),
        pytest.param(
            "go",
            GO_CODE,
            GO_TESTS,
            {"TestReverse": "passed", "TestWrong": "failed"},
            marks=pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed"),
        ),
        pytest.param(
            "ruby",
            RUBY_CODE,
            RUBY_TESTS,
            {"SlugTest#test_dashes": "passed", "SlugTest#test_wrong": "failed"},
            marks=pytest.mark.skipif(shutil.which("ruby") is None, reason="ruby is not installed"),
        ),
    ],
)
def test_snippets_in_each_language_run_under_their_runner(
    repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, language: str, code: str, tests: str, expected: dict
) -> None:
    with fake_llm([code, tests]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        assert run_cli("generate", "a helper", "--lang", language, cwd=repo).returncode == 0
        proc = run_cli("test", "1", "--json", cwd=repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # one test fails on purpose
    result = json.loads(proc.stdout)
    assert result["language"] == language and result["rounds"][0]["collection_error"] is None
    assert {t["name"].split(" > ")[-1]: t["outcome"] for t in result["rounds"][0]["tests"]} == expected
    system = llm.requests[1].text("system")
    assert prompts.TEST_FRAMEWORKS[language] in system and f"```{language}" in system
    if language == "go":  # the tests join the snippet's package, in its own directory
        assert "`codegraph_snippet/snippet_test.go`, in the same package (`package strutil`)" in system


@pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed")
def test_a_go_symbol_is_tested_in_its_package_without_the_repositorys_own_tests(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "gorepo"
    write_files(
        repo,
        {
            "go.mod": "module example.com/tools\n\ngo 1.18\n",
            "strutil/reverse.go": "package strutil\n\nfunc Reverse(s string) string {\n    return flip([]rune(s))\n}\n",
            "strutil/flip.go": (
                "package strutil\n\nfunc flip(r []rune) string {\n"
                "    for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {\n        r[i], r[j] = r[j], r[i]\n    }\n"
                "    return string(r)\n}\n"
            ),
            "strutil/reverse_test.go": (
                'package strutil\n\nimport "testing"\n\n'
                'func TestOwnSuite(t *testing.T) { t.Fatal("the repository test ran") }\n'
            ),
            "main.go": (
                'package main\n\nimport "example.com/tools/strutil"\n\nfunc main() { println(strutil.Reverse("x")) }\n'
            ),
        },
    )
    assert run_cli("index", ".", "-q", cwd=repo).returncode == 0
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    tests = (
        'Title: t\n```go\npackage strutil\n\nimport "testing"\n\n'
        'func TestReverse(t *testing.T) {\n    if Reverse("abc") != "cba" || flip([]rune("ab")) != "ba" {\n'
        '        t.Fatal("bad")\n    }\n}\n```\nExplanation: x'
    )
    with fake_llm([tests]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        proc = run_cli("test", "strutil/reverse.go::Reverse", "--json", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert [(t["name"], t["outcome"]) for t in result["rounds"][0]["tests"]] == [("TestReverse", "passed")]
    assert "`strutil/reverse_codegraph_test.go`, in the same package (`package strutil`)" in llm.requests[0].text(
        "system"
    )


@pytest.mark.parametrize(
    ("language", "answer", "advice"),
    [
        ("go", GO_CODE, "install Go"),
        ("ruby", RUBY_CODE, "install Ruby"),
        ("typescript", TS_CODE, "npm install --save-dev tsx"),
        ("javascript", "Title: x\n```javascript\nmodule.exports = {};\n```\nExplanation: x", "install Node.js"),
    ],
)
def test_a_missing_runner_is_refused_before_any_model_call(
    repo: Path,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    language: str,
    answer: str,
    advice: str,
) -> None:
    with fake_llm([answer]) as llm:
        monkeypatch.setenv("CODEGRAPH_LLM_BASE_URL", llm.base_url)
        assert run_cli("generate", "x", "--lang", language, cwd=repo).returncode == 0
        (tmp_path / "empty").mkdir()
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no runner on PATH
        proc = run_cli("test", "1", cwd=repo)
    assert proc.returncode == 1 and advice in proc.stderr and "Traceback" not in proc.stderr
    assert len(llm.requests) == 1  # only the generate request
