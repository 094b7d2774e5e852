"""The sandbox for generated tests: real subprocesses, real limits, no mocks."""

from __future__ import annotations

import ast
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from codegraph.assist import sandbox as sb
from codegraph.assist.sandbox import launch

from .conftest import wait_until
from .project_envs import NO_TYPESCRIPT, build_wheel, make_venv

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="these tests need Linux (/proc)")


def _src(text: str) -> str:
    return textwrap.dedent(text).lstrip()


FIXTURES = Path(__file__).parent / "fixtures"


def _processes_with(marker: str) -> list[int]:
    """Pids of live processes whose command line contains ``marker`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(int(entry))
    return found


def test_pytest_pass_and_fail_are_reported_per_test_with_output() -> None:
    files = {
        "calc.py": "def add(a, b):\n    return a + b\n",
        "test_calc.py": _src(
            """
            from calc import add

            def test_add():
                print("hello from the passing test")
                assert add(1, 2) == 3

            def test_add_wrong():
                print("about to fail")
                assert add(1, 2) == 4, "add is wrong"
            """
        ),
    }
    report = sb.run_tests("python", files)
    by_name = {t.name: t for t in report.tests}
    assert set(by_name) == {"test_calc.py::test_add", "test_calc.py::test_add_wrong"}
    assert by_name["test_calc.py::test_add"].outcome == "passed"
    assert "hello from the passing test" in by_name["test_calc.py::test_add"].output
    failing = by_name["test_calc.py::test_add_wrong"]
    assert failing.outcome == "failed"
    assert "add is wrong" in failing.message
    assert "about to fail" in failing.output and "assert" in failing.output
    assert (report.passed, report.failed, report.collection_error) == (1, 1, None)
    assert report.run.returncode == 1 and not report.run.timed_out


def test_syntax_error_is_a_collection_error() -> None:
    files = {
        "test_ok.py": "def test_fine():\n    assert True\n",
        "test_broken.py": "def test_broken(:\n    pass\n",
    }
    report = sb.run_tests("python", files)
    assert report.collection_error is not None
    assert "test_broken.py" in report.collection_error and "SyntaxError" in report.collection_error
    assert [t.name for t in report.tests] == ["test_ok.py::test_fine"]  # the other file still ran


def test_no_tests_is_a_collection_error() -> None:
    report = sb.run_tests("python", {"helper.py": "X = 1\n"})
    assert report.tests == ()
    assert report.collection_error is not None and "no tests" in report.collection_error


def test_environment_holds_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-test")
    monkeypatch.setenv("CODEGRAPH_LLM_API_KEY", "cg-secret-test")
    files = {
        "parent_pid.txt": str(os.getpid()),
        "test_env.py": _src(
            """
            import os
            from pathlib import Path

            def test_dump_environment():
                dump = "\\n".join(f"{k}={v}" for k, v in sorted(os.environ.items()))
                print(dump)
                try:  # the parent's environment through /proc
                    parent = Path(f"/proc/{Path('parent_pid.txt').read_text()}/environ").read_bytes().decode()
                except OSError as exc:
                    parent = f"unreadable: {exc}"
                print("PARENT", parent.replace("\\0", " "))
                seen = dump + parent
                leaked = ("sk-" + "secret-test") in seen or ("cg-" + "secret-test") in seen
                assert not leaked, "secret visible"
                assert not [k for k in os.environ if k.endswith(("_KEY", "_TOKEN", "_SECRET"))]
            """
        ),
    }
    report = sb.run_tests("python", files)
    (test,) = report.tests
    assert test.outcome == "passed", test.output
    assert "HOME=" in test.output  # the dump really ran
    assert "sk-secret-test" not in test.output and "cg-secret-test" not in test.output
    assert "sk-secret-test" not in report.run.stdout + report.run.stderr


def test_home_directory_is_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    home = Path(tempfile.mkdtemp(prefix="codegraph-sandbox-test-home-", dir="/tmp"))
    try:
        home.chmod(0o755)
        netrc = home / ".netrc"
        netrc.write_text("machine api.example.com password cg-netrc-secret\n")
        netrc.chmod(0o644)  # readable by anyone: only the tmpfs over the home directory hides it
        monkeypatch.setenv("HOME", str(home))
        files = {
            "test_home.py": _src(
                f"""
                import os

                def test_read_netrc():
                    print(sorted(os.listdir({str(home)!r})))
                    with open({str(netrc)!r}) as fh:
                        print(fh.read())
                """
            ),
        }
        report = sb.run_tests("python", files)
        if f"hidden:{home}" not in report.run.enforced:
            pytest.skip(f"the home directory cannot be hidden here: {report.run.not_enforced}")
        (test,) = report.tests
        assert test.outcome == "failed" and "FileNotFoundError" in test.message
        assert "cg-netrc-secret" not in report.run.stdout + test.output
    finally:
        shutil.rmtree(home, ignore_errors=True)


@dataclass(frozen=True)
class _EscapeRun:
    report: sb.RunReport
    protected: Path
    shared: Path
    probe: Path


@pytest.fixture(scope="module")
def escape_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_EscapeRun]:
    """One sandboxed pytest run that tries to write a user's file, a world-writable file and /etc."""
    protected = tmp_path_factory.mktemp("outside") / "protected.txt"
    protected.write_text("original")
    protected.chmod(0o644)
    shared_dir = Path(tempfile.mkdtemp(prefix="codegraph-sandbox-test-", dir="/tmp"))
    shared_dir.chmod(0o777)  # writable by anyone: only a read-only mount protects this one
    shared = shared_dir / "shared.txt"
    shared.write_text("original")
    shared.chmod(0o666)
    probe = Path("/etc/codegraph-sandbox-probe")
    assert not probe.exists()
    files = {
        "test_escape.py": _src(
            f"""
            import pytest

            @pytest.mark.parametrize("path", [{str(protected)!r}, {str(shared)!r}, {str(probe)!r}])
            def test_write(path):
                with open(path, "w") as fh:
                    fh.write("pwned")

            def test_write_inside():
                with open("inside.txt", "w") as fh:
                    fh.write("fine")
            """
        ),
    }
    try:
        yield _EscapeRun(sb.run_tests("python", files), protected, shared, probe)
    finally:
        probe.unlink(missing_ok=True)
        shutil.rmtree(shared_dir, ignore_errors=True)


def _outcomes(report: sb.RunReport) -> dict[str, sb.CaseResult]:
    return {t.name.split("::")[-1]: t for t in report.tests}


def test_writes_outside_the_sandbox_fail(escape_run: _EscapeRun) -> None:
    enforced = escape_run.report.run.enforced
    outcomes = _outcomes(escape_run.report)
    assert outcomes["test_write_inside"].outcome == "passed"
    if "user_nobody" not in enforced and "fs_readonly" not in enforced:
        pytest.skip(f"writes outside are not blocked on this platform: {escape_run.report.run.not_enforced}")
    assert escape_run.protected.read_text() == "original"
    assert not escape_run.probe.exists()
    protected_case = next(t for n, t in outcomes.items() if "protected" in n)
    assert protected_case.outcome == "failed"
    assert "PermissionError" in protected_case.message or "Read-only" in protected_case.message


def test_world_writable_files_outside_are_read_only(escape_run: _EscapeRun) -> None:
    if "fs_readonly" not in escape_run.report.run.enforced:
        pytest.skip(f"no read-only mount namespace here: {escape_run.report.run.not_enforced}")
    assert escape_run.shared.read_text() == "original"
    shared_case = next(t for n, t in _outcomes(escape_run.report).items() if "shared" in n)
    assert "Read-only file system" in shared_case.message


@dataclass(frozen=True)
class _LoopRun:
    report: sb.RunReport
    elapsed_s: float
    seen: int
    in_group: str
    escaped: str


@pytest.fixture(scope="module")
def loop_run() -> _LoopRun:
    """One sandboxed pytest run that loops forever after starting two grandchildren, one in a new session."""
    tag = f"{os.getpid() % 1000}.{time.time_ns() % 1000000:06d}"
    in_group, escaped = f"sleep {tag}1", f"sleep {tag}2"  # unique `sleep` command lines to look for in /proc
    files = {
        "test_forever.py": _src(
            f"""
            import subprocess

            def test_quick():
                assert True

            def test_forever():
                subprocess.Popen({in_group.split()!r})                          # same process group
                subprocess.Popen({escaped.split()!r}, start_new_session=True)   # tries to leave it
                while True:
                    pass
            """
        ),
    }
    result: dict[str, sb.RunReport] = {}
    limits = sb.SandboxLimits(wall_time_s=2)
    worker = threading.Thread(target=lambda: result.update(report=sb.run_tests("python", files, limits)))
    start = time.monotonic()
    worker.start()
    seen: list[int] = []

    def both_started() -> bool:
        nonlocal seen
        seen = _processes_with(in_group) + _processes_with(escaped)
        return len(seen) >= 2 or not worker.is_alive()

    wait_until(both_started, timeout_s=30, poll_s=0.05)
    worker.join(timeout=30)
    return _LoopRun(result["report"], time.monotonic() - start, len(seen), in_group, escaped)


def test_infinite_loop_is_killed_with_its_whole_process_tree(loop_run: _LoopRun) -> None:
    report = loop_run.report
    assert loop_run.seen == 2, "the grandchildren never started; the test would prove nothing"
    assert report.run.timed_out and report.run.killed_by_signal == 9
    assert 2.0 <= loop_run.elapsed_s < 8.0
    assert not _processes_with(loop_run.in_group)
    assert report.collection_error is not None and "wall-time limit" in report.collection_error
    outcomes = {t.name: t.outcome for t in report.tests}  # from pytest -v: the JUnit file was never written
    assert outcomes == {"test_forever.py::test_quick": "passed", "test_forever.py::test_forever": "error"}


def test_a_process_that_leaves_the_session_dies_too(loop_run: _LoopRun) -> None:
    if "pidns" not in loop_run.report.run.enforced:
        pytest.skip("no PID namespace here: a setsid() escapee outliving the run is a documented gap")
    assert loop_run.seen == 2, "the grandchildren never started; the test would prove nothing"
    assert not _processes_with(loop_run.escaped)


def test_background_processes_die_with_the_run() -> None:
    tag = f"{os.getpid() % 1000}.{time.time_ns() % 1000000:06d}"
    # The shell exits at once, leaving a background process that holds stdout open.
    run = sb.run_in_sandbox(["/bin/sh", "-c", f"sleep {tag} & echo started"], {}, sb.SandboxLimits(wall_time_s=20))
    assert run.returncode == 0 and run.stdout == "started\n" and not run.timed_out
    assert run.wall_s < 5  # did not wait for the sleep
    assert wait_until(lambda: not _processes_with(f"sleep {tag}"), timeout_s=5)


def test_cpu_and_file_size_limits() -> None:
    spin = sb.run_in_sandbox(
        [sys.executable, "-c", "while True: pass"], {}, sb.SandboxLimits(wall_time_s=20, cpu_time_s=1)
    )
    assert not spin.timed_out and spin.killed_by_signal in (9, 24)  # SIGKILL or SIGXCPU from RLIMIT_CPU
    big = sb.run_in_sandbox(
        [sys.executable, "-c", "open('big.bin', 'wb').write(b'x' * (2 << 20))"],
        {},
        sb.SandboxLimits(max_file_bytes=1 << 20),
    )
    assert big.returncode != 0 and "File too large" in big.stderr


def test_memory_hog_fails_with_memory_error() -> None:
    files = {
        "test_hog.py": _src(
            """
            def test_allocate_4_gib():
                block = bytearray(4 << 30)
                assert len(block)
            """
        ),
    }
    report = sb.run_tests("python", files, sb.SandboxLimits(memory_bytes=512 * sb.MIB))
    assert "rlimit_as" in report.run.enforced
    (test,) = report.tests
    assert test.outcome == "failed"
    assert "MemoryError" in test.message + test.output


def test_network_is_blocked() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    port = server.getsockname()[1]
    files = {
        "test_net.py": _src(
            f"""
            import socket

            def test_connect():
                socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
            """
        ),
    }
    try:
        blocked = sb.run_tests("python", files)
        if "netns" not in blocked.run.enforced:
            pytest.skip(f"network namespaces are unavailable here: {blocked.run.not_enforced}")
        (test,) = blocked.tests
        assert test.outcome == "failed"
        assert "ConnectionRefusedError" in test.message or "unreachable" in test.message
        allowed = sb.run_tests("python", files, sb.SandboxLimits(network=True))  # control: the server is there
        assert [t.outcome for t in allowed.tests] == ["passed"]
        assert "netns" not in allowed.run.enforced
    finally:
        server.close()


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_test_runner_per_test() -> None:
    files = {
        "lib/math.js": "exports.add = (a, b) => a + b;\n",
        "test/math.test.js": _src(
            """
            const test = require('node:test');
            const assert = require('node:assert');
            const { add } = require('../lib/math.js');

            test('adds', () => { assert.strictEqual(add(1, 2), 3); });
            test('adds wrong', () => { assert.strictEqual(add(1, 2), 4); });
            test.describe('group', () => { test.it('nested', () => {}); });
            """
        ),
    }
    report = sb.run_tests("javascript", files)
    outcomes = {t.name: t.outcome for t in report.tests}
    assert outcomes == {"adds": "passed", "adds wrong": "failed", "group > nested": "passed"}
    wrong = next(t for t in report.tests if t.name == "adds wrong")
    assert "3 !== 4" in wrong.message + wrong.output
    assert (report.passed, report.failed, report.collection_error) == (2, 1, None)
    assert "rlimit_data" in report.run.enforced and "rlimit_as" not in report.run.enforced


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_file_that_does_not_load_is_a_collection_error() -> None:
    report = sb.run_tests("javascript", {"bad.test.js": "this is not (javascript\n"})
    assert report.tests == ()
    assert report.collection_error is not None and "bad.test.js" in report.collection_error
    assert "SyntaxError" in report.collection_error


NODE_TAP_SAMPLE = """TAP version 13
# Subtest: adds
ok 1 - adds
  ---
  duration_ms: 3.893904
  ...
# Subtest: fails
not ok 2 - fails
  ---
  duration_ms: 1.651818
  location: '/tmp/nt/a.test.js:4:1'
  failureType: 'testCodeFailure'
  error: |-
    Expected values to be strictly equal:

    2 !== 3

  code: 'ERR_ASSERTION'
  ...
# Subtest: suite
    # Subtest: inner ok
    ok 1 - inner ok
      ---
      duration_ms: 0.389385
      ...
    # Subtest: skipped
    ok 2 - skipped # SKIP
      ---
      duration_ms: 0.202727
      ...
    1..2
ok 3 - suite
  ---
  duration_ms: 1.146536
  type: 'suite'
  ...
1..3
"""


def test_node_tap_parser() -> None:
    tests = sb.parse_node_tap(NODE_TAP_SAMPLE)
    assert [(t.name, t.outcome) for t in tests] == [
        ("adds", "passed"),
        ("fails", "failed"),
        ("suite > inner ok", "passed"),
        ("suite > skipped", "skipped"),
    ]
    assert tests[1].message == "Expected values to be strictly equal:"


MINITEST_SAMPLE = """Run options: -v --seed 4242

# Running:

CalcTest#test_add = 0.00 s = .
CalcTest#test_sub = 0.00 s = F
CalcTest#test_div = 0.00 s = E
CalcTest#test_later = 0.00 s = S

Finished in 0.001873s, 2135.6 runs/s, 1067.8 assertions/s.

  1) Failure:
CalcTest#test_sub [test/calc_test.rb:11]:
Expected: 1
  Actual: 3

  2) Error:
CalcTest#test_div:
ZeroDivisionError: divided by 0
    lib/calc.rb:6:in `/'
    test/calc_test.rb:15:in `test_div'

  3) Skipped:
CalcTest#test_later [test/calc_test.rb:19]:
not yet

4 runs, 2 assertions, 1 failures, 1 errors, 1 skips
"""


def test_minitest_parser() -> None:
    tests, summary = sb.parse_minitest(MINITEST_SAMPLE)
    assert summary
    assert [(t.name, t.outcome) for t in tests] == [
        ("CalcTest#test_add", "passed"),
        ("CalcTest#test_sub", "failed"),
        ("CalcTest#test_div", "error"),
        ("CalcTest#test_later", "skipped"),
    ]
    assert tests[1].message == "Expected: 1" and "Actual: 3" in tests[1].output
    assert tests[2].message == "ZeroDivisionError: divided by 0"
    assert tests[3].message == "not yet"
    assert tests[0].message == ""


def test_minitest_parser_without_summary() -> None:
    tests, summary = sb.parse_minitest("test/x_test.rb:3: syntax error, unexpected end-of-input\n")
    assert (tests, summary) == ([], False)


@pytest.mark.parametrize(
    ("language", "advice"),
    [
        ("ruby", "install Ruby"),
        ("go", "install Go"),
        ("javascript", "install Node.js"),
        ("typescript", "npm install --save-dev tsx"),
    ],
)
def test_a_missing_runner_says_what_to_install(
    language: str, advice: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no runner can be found
    with pytest.raises(sb.SandboxError, match=advice):
        sb.find_runner(language, root=tmp_path)
    with pytest.raises(sb.SandboxError, match=advice):
        sb.run_tests(language, {"x": ""})


def test_unknown_language() -> None:
    with pytest.raises(sb.SandboxError, match="no test runner"):
        sb.run_tests("cobol", {})


# -- runners for TypeScript, Ruby and Go; the project's own environment -----------------------------------------


def _node_version() -> tuple[int, int] | None:
    node = shutil.which("node")
    if node is None:
        return None
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    major, minor = version.lstrip("v").split(".")[:2]
    return int(major), int(minor)


@pytest.mark.skipif(
    _node_version() is None or _node_version() >= (22, 6),  # type: ignore[operator]
    reason="needs a node older than 22.6 (this one has type stripping, or there is none)",
)
def test_a_node_without_type_stripping_and_no_tsx_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "node").symlink_to(shutil.which("node") or "")
    monkeypatch.setenv("PATH", str(bin_dir))  # node, and no tsx anywhere
    runner = sb.find_runner("typescript", root=tmp_path)
    assert runner.name == "node --test (type stripping)" and runner.argv[1:] == ("--experimental-strip-types",)
    with pytest.raises(sb.SandboxError, match=r"no TypeScript runner: install tsx .* or use Node.js 22.6 or newer"):
        sb.check_runner(runner)


@pytest.mark.parametrize(
    "language",
    [
        "python",
        pytest.param("go", marks=pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed")),
        pytest.param("typescript", marks=pytest.mark.skipif(NO_TYPESCRIPT is not None, reason=str(NO_TYPESCRIPT))),
    ],
)
def test_the_runner_check_is_not_failed_by_a_tight_memory_limit(language: str) -> None:
    """`codegraph test --memory 64` must not report an installed go or tsx as unable to run."""
    tight = sb.SandboxLimits(memory_bytes=64 * sb.MIB, wall_time_s=5, cpu_time_s=5)
    assert sb.check_runner(sb.find_runner(language), tight).version


@pytest.mark.skipif(NO_TYPESCRIPT is not None, reason=str(NO_TYPESCRIPT))
def test_typescript_runner_per_test() -> None:
    files = {
        "src/shapes.ts": _src(
            """
            export interface Rect { w: number; h: number }
            export enum Unit { Cm, Inch }
            export function area(r: Rect): number { return r.w * r.h; }
            """
        ),
        "shapes.test.ts": _src(
            """
            import { test, describe } from 'node:test';
            import assert from 'node:assert/strict';
            import { area, type Rect } from './src/shapes.ts';

            const square: Rect = { w: 2, h: 2 };
            test('area of a square', () => { assert.equal(area(square), 4); });
            describe('wrong', () => { test('on purpose', () => { assert.equal(area(square), 5); }); });
            """
        ),
        "notes.ts": "export const unused = 1;\n",  # not a test file: not run
    }
    runner = sb.check_runner(sb.find_runner("typescript"))
    assert runner.describe().startswith(f"{runner.name} (node v") and runner.version.startswith("v")
    report = sb.run_tests("typescript", files, runner=runner)
    assert {t.name: t.outcome for t in report.tests} == {"area of a square": "passed", "wrong > on purpose": "failed"}
    assert report.collection_error is None
    assert "4 !== 5" in next(t for t in report.tests if t.outcome == "failed").message


@pytest.mark.skipif(NO_TYPESCRIPT is not None, reason=str(NO_TYPESCRIPT))
def test_a_typescript_type_error_in_syntax_is_a_collection_error() -> None:
    report = sb.run_tests("typescript", {"bad.test.ts": "const x: number = (;\n"})
    assert report.tests == () and report.collection_error is not None and "bad.test.ts" in report.collection_error


@pytest.mark.skipif(shutil.which("ruby") is None, reason="ruby is not installed")
def test_minitest_runner_per_test() -> None:
    files = {
        "lib/calc.rb": "module Calc\n  def self.add(a, b) = a + b\nend\n",
        "test/calc_test.rb": _src(
            """
            require 'minitest/autorun'
            require 'calc'

            class CalcTest < Minitest::Test
              def test_add
                assert_equal 3, Calc.add(1, 2)
              end

              def test_wrong
                assert_equal 4, Calc.add(1, 2)
              end
            end
            """
        ),
    }
    report = sb.run_tests("ruby", files)
    assert {t.name: t.outcome for t in report.tests} == {"CalcTest#test_add": "passed", "CalcTest#test_wrong": "failed"}
    assert report.collection_error is None


@pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed")
def test_go_test_runner_per_test_offline() -> None:
    files = {
        "calc/calc.go": "package calc\n\nfunc Add(a, b int) int { return a + b }\n",
        "calc/calc_test.go": _src(
            """
            package calc

            import (
                "net/http"
                "testing"
            )

            func TestAdd(t *testing.T) {
                if Add(1, 2) != 3 {
                    t.Fatal("bad")
                }
            }

            func TestTable(t *testing.T) {
                for _, c := range []struct{ name string; a, b, want int }{{"ok", 1, 1, 2}, {"wrong", 1, 1, 3}} {
                    t.Run(c.name, func(t *testing.T) {
                        if got := Add(c.a, c.b); got != c.want {
                            t.Errorf("Add(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
                        }
                    })
                }
            }

            func TestNetwork(t *testing.T) {
                if _, err := http.Get("http://example.com/"); err == nil {
                    t.Fatal("the network is reachable")
                }
            }
            """
        ),
    }
    report = sb.run_tests("go", files)
    outcomes = {t.name: t.outcome for t in report.tests}
    assert report.collection_error is None, report.collection_error
    assert {k: v for k, v in outcomes.items() if k != "TestNetwork"} == {
        "TestAdd": "passed",
        "TestTable/ok": "passed",
        "TestTable/wrong": "failed",
    }
    if "netns" in report.run.enforced:
        assert outcomes["TestNetwork"] == "passed"
    assert "Add(1, 1) = 2, want 3" in next(t for t in report.tests if t.name == "TestTable/wrong").message
    assert "rlimit_data" in report.run.enforced


def _go_module_cache(root: Path) -> Path:
    """A real module cache holding ``example.com/dep`` v1.0.0, filled by ``go mod download`` from a ``file://``
    module proxy made here (no network)."""
    proxy = root / "proxy" / "example.com" / "dep" / "@v"
    proxy.mkdir(parents=True)
    with zipfile.ZipFile(proxy / "v1.0.0.zip", "w") as archive:
        archive.writestr("example.com/dep@v1.0.0/go.mod", "module example.com/dep\n\ngo 1.18\n")
        archive.writestr("example.com/dep@v1.0.0/dep.go", "package dep\n\nfunc Twice(x int) int { return 2 * x }\n")
    (proxy / "v1.0.0.mod").write_text("module example.com/dep\n\ngo 1.18\n")
    (proxy / "v1.0.0.info").write_text('{"Version":"v1.0.0"}')
    (proxy / "list").write_text("v1.0.0\n")
    cache = root / "modcache"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(root),
        "GOPROXY": f"file://{root / 'proxy'}",
        "GOMODCACHE": str(cache),
        "GOCACHE": str(root / "gocache"),
        "GOFLAGS": "-modcacherw",
        "GOSUMDB": "off",
        "GOTOOLCHAIN": "local",
    }
    subprocess.run(["go", "mod", "download", "example.com/dep@v1.0.0"], cwd=root, env=env, check=True, timeout=300)
    return cache


@pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed")
def test_go_tests_can_import_modules_of_the_users_module_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "go.mod": "module example.com/app\n\ngo 1.19\n\nrequire example.com/dep v1.0.0\n",
        "calc/calc.go": (
            'package calc\n\nimport "example.com/dep"\n\nfunc Quad(x int) int { return dep.Twice(dep.Twice(x)) }\n'
        ),
        "calc/calc_test.go": (
            'package calc\n\nimport "testing"\n\nfunc TestQuad(t *testing.T) { if Quad(1) != 4 { t.Fatal(1) } }\n'
        ),
    }
    monkeypatch.setenv("GOMODCACHE", str(_go_module_cache(tmp_path)))
    report = sb.run_tests("go", files)
    assert [(t.name, t.outcome) for t in report.tests] == [("TestQuad", "passed")], report.collection_error
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("GOMODCACHE", str(tmp_path / "empty"))  # the module was never downloaded
    missing = sb.run_tests("go", files)
    assert missing.collection_error is not None and "go: downloading example.com/dep" in missing.collection_error
    assert "the sandbox has no network: run `go mod download` in the repository" in missing.collection_error


@pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed")
def test_a_go_build_error_is_a_collection_error() -> None:
    files = {"x/x_test.go": 'package x\n\nimport "testing"\n\nfunc TestX(t *testing.T) { var n int = "s"; _ = n }\n'}
    report = sb.run_tests("go", files)
    assert report.tests == ()
    assert report.collection_error is not None and "build failed" in report.collection_error
    assert "x_test.go:5" in report.collection_error


@pytest.mark.parametrize("go", ["go1.19", "go1.27"])
def test_go_test_json_parser(go: str) -> None:
    """Real `go test -json` output of two Go versions (see tests/fixtures/go_test_json/README.md)."""

    def parse(case: str) -> tuple[list[sb.CaseResult], list[str]]:
        stderr = FIXTURES / "go_test_json" / f"{case}.{go}.stderr"
        stdout = (FIXTURES / "go_test_json" / f"{case}.{go}.stdout").read_text()
        return sb.parse_go_test_json(stdout, stderr.read_text() if stderr.exists() else "")

    tests, errors = parse("pass_fail")
    assert [(t.name, t.outcome) for t in tests] == [
        ("TestAdd", "passed"),
        ("TestWrong", "failed"),
        ("TestSub/ok", "passed"),
        ("TestSub/bad_case", "failed"),  # the parent TestSub fails only through it: not counted twice
        ("TestSkip", "skipped"),
    ]
    assert errors == []
    wrong = tests[1]
    assert wrong.message == "snippet_test.go:14: Add(1, 2) = 3, want 4"  # the error, not the log line before it
    assert "about to fail" in wrong.output and "--- FAIL" not in wrong.output
    assert tests[4].message == "snippet_test.go:23: later"

    tests, errors = parse("panic")
    assert [(t.name, t.outcome) for t in tests] == [("TestOK", "passed"), ("TestPanics", "failed")]
    assert tests[1].message.startswith("panic: assignment to entry in nil map")

    for case, message in [
        ("build_fail", 'snippet_test.go:6:12: cannot use "2" (untyped string constant) as int value'),
        ("vet", 'fmt.Sprintf format %d has arg "x" of wrong type string'),
    ]:
        tests, errors = parse(case)
        assert tests == [] and len(errors) == 1
        assert errors[0].startswith("snippet: build failed: ./") and message in errors[0]

    assert parse("notests") == ([], ["snippet: no test files"])


def test_go_test_json_parser_reports_a_test_that_never_ended() -> None:
    """A run killed mid-test (the JSON stream simply stops)."""
    stream = "\n".join(
        [
            '{"Action":"run","Package":"p","Test":"TestLoops"}',
            '{"Action":"output","Package":"p","Test":"TestLoops","Output":"=== RUN   TestLoops\\n"}',
        ]
    )
    tests, errors = sb.parse_go_test_json(stream)
    assert [(t.name, t.outcome) for t in tests] == [("TestLoops", "error")] and errors == []
    assert "did not finish" in tests[0].message


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_projects_node_modules_are_importable(tmp_path: Path) -> None:
    project = tmp_path / "project"
    package = project / "node_modules" / "leftpad"
    package.mkdir(parents=True)
    (package / "package.json").write_text('{"name": "leftpad", "version": "1.0.0", "main": "index.js"}')
    (package / "index.js").write_text("module.exports = (s, n) => String(s).padStart(n, '0');\n")
    files = {
        "pad.test.js": _src(
            """
            const test = require('node:test');
            const assert = require('node:assert/strict');
            const leftpad = require('leftpad');
            test('pads', () => { assert.equal(leftpad(7, 3), '007'); });
            """
        )
    }
    runner = sb.find_runner("javascript", root=project)
    assert ("node_modules", str(project.resolve() / "node_modules")) in runner.extras.links
    report = sb.run_tests("javascript", files, runner=runner)
    assert [(t.name, t.outcome) for t in report.tests] == [("pads", "passed")], report.run.stdout
    assert [(t.name, t.outcome) for t in sb.run_tests("javascript", files).tests] != [("pads", "passed")]


def test_the_projects_virtualenv_runs_the_tests_in_the_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real venv below the (masked) home directory, with a dependency pip-installed into it: the sandbox user
    can run its interpreter and import the dependency, which codegraph's own interpreter does not have."""
    home = tmp_path / "home"
    project = home / "project"
    wheel = build_wheel(tmp_path / "wheels", "thatdep", "def triple(x):\n    return 3 * x\n")
    python = make_venv(project / ".venv", pytest=True, wheels=(wheel,))
    monkeypatch.setenv("HOME", str(home))
    files = {"test_dep.py": "import thatdep\n\n\ndef test_triple():\n    assert thatdep.triple(2) == 6\n"}
    runner = sb.check_runner(sb.find_runner("python", root=project))
    assert (runner.argv, runner.origin) == ((str(python),), ".venv in the repository")
    assert runner.version[0].isdigit()
    report = sb.run_tests("python", files, runner=runner)
    assert [(t.name, t.outcome) for t in report.tests] == [("test_dep.py::test_triple", "passed")], report.run.stdout
    hidden = [name[7:] for name in report.run.enforced if name.startswith("hidden:")]
    if "fs_readonly" in report.run.enforced:  # the home directory was covered, the venv bound back
        assert any(str(home) == h or str(home).startswith(h + "/") for h in hidden), report.run.enforced
    own = sb.run_tests("python", files)  # codegraph's own interpreter: no thatdep
    assert own.collection_error is not None and "No module named 'thatdep'" in own.collection_error


def test_a_virtualenv_without_pytest_is_refused_with_the_fix(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "project" / "venv", pytest=False)
    runner = sb.find_runner("python", root=tmp_path / "project")
    assert runner.origin == "venv in the repository"
    with pytest.raises(sb.SandboxError) as caught:
        sb.check_runner(runner)
    assert str(caught.value).startswith(f"pytest is not installed for {python} (venv in the repository)")
    assert f"{python} -m pip install pytest" in str(caught.value) and "--python" in str(caught.value)


def test_the_python_runner_precedence(tmp_path: Path) -> None:
    """--python / the setting, then $VIRTUAL_ENV, then .venv, then venv, then codegraph's own interpreter."""
    project = tmp_path / "project"
    dot_venv = make_venv(project / ".venv", pytest=False)
    venv = make_venv(project / "venv", pytest=False)
    other = make_venv(tmp_path / "other", pytest=False)
    assert sb.find_python(tmp_path).argv == (sys.executable,)
    assert sb.find_python(tmp_path).origin == "codegraph's own interpreter"
    assert sb.find_python(project).argv == (str(dot_venv),)
    shutil.rmtree(project / ".venv")
    assert sb.find_python(project).argv == (str(venv),)
    assert sb.find_python(project, virtual_env=str(tmp_path / "other")).argv == (str(other),)
    chosen = sb.find_python(project, python="../other", virtual_env=str(project / "venv"))  # relative to the root
    assert (chosen.argv, chosen.origin) == ((str(other),), "--python")
    assert sb.find_python(project, python=str(other)).argv == (str(other),)
    with pytest.raises(sb.SandboxError, match="not an executable file"):
        sb.find_python(project, python=str(tmp_path / "missing" / "python"))
    with pytest.raises(sb.SandboxError, match="not a virtualenv"):
        sb.find_python(project, python=str(tmp_path))
    with pytest.raises(sb.SandboxError, match=r"\$VIRTUAL_ENV is .* not a virtualenv"):
        sb.find_python(project, virtual_env=str(tmp_path / "gone"))


@pytest.mark.parametrize("name", ["../evil.py", "/etc/evil.py", "a/../../evil.py", "", ".sandbox-home/x"])
def test_bad_file_names_are_rejected(name: str) -> None:
    with pytest.raises(sb.SandboxError, match="sandbox file name"):
        sb.run_in_sandbox(["/bin/true"], {name: "x"})
    assert not Path("/tmp/evil.py").exists()


def test_output_is_capped() -> None:
    run = sb.run_in_sandbox([sys.executable, "-c", "print('x' * 100000)"], {}, sb.SandboxLimits(max_output_bytes=1000))
    assert run.returncode == 0
    assert run.output_truncated and len(run.stdout) == 1000


def test_enforced_limits_lists_this_platform() -> None:
    lines = sb.enforced_limits(sb.SandboxLimits(wall_time_s=5))
    text = "\n".join(lines)
    assert "wall time 5 s" in text and "RLIMIT_CPU" in text and "no API keys" in text
    run = sb.run_in_sandbox(["/bin/true"], {})
    if "netns" in run.enforced:
        assert "network blocked" in text
    else:
        assert "NOT enforced" in text


def test_the_launcher_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(launch.__file__).read_text(encoding="utf-8"))
    imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert not [node for node in imports if isinstance(node, ast.ImportFrom) and node.level > 0]
    top = {alias.name.split(".")[0] for node in imports if isinstance(node, ast.Import) for alias in node.names}
    top |= {node.module.split(".")[0] for node in imports if isinstance(node, ast.ImportFrom) and node.module}
    assert top <= set(sys.stdlib_module_names) | {"__future__"}, top - set(sys.stdlib_module_names)


def test_a_copy_of_the_launcher_alone_runs_a_command_by_path(tmp_path: Path) -> None:
    """No codegraph on any path: ``python -I -S launch.py CONFIG`` applies the config and runs the command."""
    copy = tmp_path / "bin" / "launch.py"
    copy.parent.mkdir()
    copy.write_text(Path(launch.__file__).read_text(encoding="utf-8"), encoding="utf-8")
    report_r, report_w = os.pipe()
    config = launch.LaunchConfig(
        argv=("/bin/sh", "-c", 'echo "ran in $PWD as $CODEGRAPH_MARK"; exit 3'),
        env={"PATH": "/usr/bin:/bin", "CODEGRAPH_MARK": "configured"},
        work=str(tmp_path),
        stage=str(tmp_path),
        namespaces=False,
        netns=False,
        masks=(),
        drop_to=None,
        rlimits=(("RLIMIT_CORE", 0), ("RLIMIT_NOFILE", 64)),
        report_fd=report_w,
    )
    assert launch.LaunchConfig.from_json(config.to_json()) == config
    try:
        proc = subprocess.run(
            [sys.executable, "-I", "-S", str(copy), config.to_json()],
            cwd="/",
            pass_fds=(report_w,),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(report_w)
    with os.fdopen(report_r, "rb") as fh:
        report = [json.loads(line) for line in fh.read().splitlines()]
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, f"ran in {tmp_path} as configured\n", "")
    assert report == [{"applied": ["no_new_privs", "rlimit_core", "rlimit_nofile"], "missing": []}]


@pytest.mark.parametrize(
    "change",
    [{"argv": "/bin/sh"}, {"namespaces": 1}, {"report_fd": True}, {"drop_to": ["0", 0]}, {"extra": 1}],
)
def test_a_malformed_launch_config_is_refused(change: dict[str, object]) -> None:
    config = launch.LaunchConfig(("/bin/true",), {}, "/tmp", "/tmp", False, False, (), None, ())
    raw = {**json.loads(config.to_json()), **change}
    with pytest.raises(ValueError):
        launch.LaunchConfig.from_json(json.dumps(raw))
