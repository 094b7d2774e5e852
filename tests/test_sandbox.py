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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from codegraph.assist import sandbox as sb
from codegraph.assist.sandbox import launch

from .conftest import wait_until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="these tests need Linux (/proc)")


def _src(text: str) -> str:
    return textwrap.dedent(text).lstrip()


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


@pytest.mark.skipif(shutil.which("ruby") is not None, reason="ruby is installed")
def test_missing_ruby_says_what_to_install() -> None:
    with pytest.raises(sb.SandboxError, match="install Ruby"):
        sb.run_tests("ruby", {"test/calc_test.rb": "require 'minitest/autorun'\n"})


def test_unknown_language() -> None:
    with pytest.raises(sb.SandboxError, match="no test runner"):
        sb.run_tests("cobol", {})


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
