"""The test runners behind :func:`run_tests`: pytest, ``node --test`` and minitest, each run in the sandbox with
its output parsed (``parsers.py``) into a :class:`~.results.RunReport`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import PurePosixPath

from ...errors import SandboxError
from .limits import SandboxLimits
from .parsers import parse_minitest, parse_node_junit, parse_node_tap, parse_pytest_junit, parse_pytest_verbose
from .plan import JUNIT_FILE
from .results import CaseResult, RunReport, SandboxRun
from .supervise import run_in_sandbox, sandboxed


def _tail(text: str, lines: int = 15) -> str:
    """The last ``lines`` lines of ``text``, for error messages."""
    return "\n".join(text.strip().splitlines()[-lines:])


def _make_report(
    language: str, tests: Sequence[CaseResult], run: SandboxRun, collection_error: str | None
) -> RunReport:
    """A :class:`RunReport` with the counts computed from ``tests``."""
    return RunReport(
        language=language,
        tests=tuple(tests),
        passed=sum(t.outcome == "passed" for t in tests),
        failed=sum(t.outcome in ("failed", "error") for t in tests),
        skipped=sum(t.outcome == "skipped" for t in tests),
        run=run,
        collection_error=collection_error,
    )


def _killed_reason(run: SandboxRun, limits: SandboxLimits, runner: str) -> str | None:
    """Why the runner produced no complete results if a limit or signal ended it, else ``None``."""
    if run.timed_out:
        return f"{runner} was killed at the wall-time limit ({limits.wall_time_s:g} s); a test probably hangs"
    if run.killed_by_signal is not None:
        try:
            name = signal.Signals(run.killed_by_signal).name
        except ValueError:
            name = f"signal {run.killed_by_signal}"
        return f"{runner} was killed by {name} (CPU time, memory or file size limit, or a crash)"
    return None


_PYTEST_CONFIGS = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
"""Top-level files pytest takes its configuration from."""


def _run_python(files: Mapping[str, str], limits: SandboxLimits) -> RunReport:
    """pytest runner of :func:`run_tests`; raises :class:`SandboxError` when pytest is not installed."""
    import importlib.util

    if importlib.util.find_spec("pytest") is None:
        raise SandboxError(f"pytest is not installed for {sys.executable}; install it with: pip install pytest")
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-v",
        "-p",
        "no:cacheprovider",
        f"--junitxml={JUNIT_FILE}",
        "-o",
        "junit_family=xunit1",
        "-o",
        "junit_logging=all",
        "-o",
        "console_output_style=classic",
        "--continue-on-collection-errors",
        "--rootdir=.",
        "--confcutdir=.",
    ]
    if not any(name in files for name in _PYTEST_CONFIGS):  # else pytest looks for one in /tmp, /, ...
        files = {**files, "pytest.ini": "[pytest]\n"}
    run, junit, _ = sandboxed(argv, files, limits, JUNIT_FILE)
    tests: list[CaseResult] = []
    errors: list[str] = []
    if junit is not None:
        try:
            tests, errors = parse_pytest_junit(junit)
        except ET.ParseError:
            junit = None
    if junit is None:
        tests = parse_pytest_verbose(run.stdout, run.timed_out)
    problem = _killed_reason(run, limits, "pytest")
    if problem is None:
        rc = run.returncode
        tail = _tail(run.stdout + "\n" + run.stderr)
        if errors:
            problem = "could not collect " + "; ".join(errors)
        elif rc == 5:
            problem = "pytest collected no tests (name files test_*.py or *_test.py and functions test_*)"
        elif rc == 4:
            problem = f"pytest usage error:\n{tail}"
        elif rc == 3:
            problem = f"pytest internal error:\n{tail}"
        elif rc == 2:
            problem = f"pytest was interrupted:\n{tail}"
        elif rc not in (0, 1) or junit is None:
            problem = f"pytest exited with status {rc} without results:\n{tail}"
    return _make_report("python", tests, run, problem)


_NODE_JUNIT: dict[str, bool] = {}


def _node_has_junit(node: str) -> bool:
    """Whether this node's test runner has the junit reporter (Node.js 20 LTS updates, 21+); cached."""
    if node not in _NODE_JUNIT:
        probe = subprocess.run(
            [node, "-e", "process.exit(require('node:test/reporters').junit ? 0 : 1)"],
            capture_output=True,
            timeout=30,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
        _NODE_JUNIT[node] = probe.returncode == 0
    return _NODE_JUNIT[node]


def _run_javascript(files: Mapping[str, str], limits: SandboxLimits) -> RunReport:
    """``node --test`` runner of :func:`run_tests`; raises :class:`SandboxError` when node is missing."""
    node = shutil.which("node")
    if node is None:
        raise SandboxError("node is not installed; install Node.js 20 or newer to run generated JavaScript tests")
    if limits.memory_rlimit == "as":
        limits = replace(limits, memory_rlimit="data")  # see SandboxLimits.memory_rlimit
    junit_ok = _node_has_junit(node)
    argv = [node, "--test"]
    if junit_ok:
        argv += ["--test-reporter=junit", f"--test-reporter-destination={JUNIT_FILE}"]
        argv += ["--test-reporter=spec", "--test-reporter-destination=stdout"]
    else:
        argv += ["--test-reporter=tap", "--test-reporter-destination=stdout"]
    run, junit, workdir = sandboxed(argv, files, limits, JUNIT_FILE if junit_ok else None)
    tests: list[CaseResult] = []
    errors: list[str] = []
    if junit_ok and junit is not None:
        try:
            tests, errors = parse_node_junit(junit, workdir)
        except ET.ParseError:
            junit = None
    elif not junit_ok:
        tests = parse_node_tap(run.stdout)
    problem = _killed_reason(run, limits, "node --test")
    if problem is None:
        detail = next((ln.strip() for ln in run.stdout.splitlines() if re.match(r"^\s*\w*Error\b.*:", ln)), "")
        if errors:
            problem = "; ".join(errors) + (f" ({detail})" if detail else "")
        elif junit_ok and junit is None:
            problem = (
                f"node --test exited with status {run.returncode} without results:\n{_tail(run.stdout + run.stderr)}"
            )
        elif not tests:
            problem = "node --test found no tests (name files *.test.js, *-test.js, test-*.js or put them in test/)"
    return _make_report("javascript", tests, run, problem)


_RUBY_DRIVER = (
    'files = ARGV.dup; ARGV.replace(["-v"]); require "minitest/autorun"; files.each { |f| require File.expand_path(f) }'
)


def _run_ruby(files: Mapping[str, str], limits: SandboxLimits) -> RunReport:
    """minitest runner of :func:`run_tests`; raises :class:`SandboxError` when ruby is missing."""
    ruby = shutil.which("ruby")
    if ruby is None:
        raise SandboxError("ruby is not installed; install Ruby (minitest is bundled) to run generated Ruby tests")
    test_files = sorted(
        name
        for name in files
        if name.endswith(".rb") and (PurePosixPath(name).name.startswith("test_") or name.endswith("_test.rb"))
    )
    argv = [ruby, "-Ilib", "-Itest", "-e", _RUBY_DRIVER, *test_files]
    run = run_in_sandbox(argv, files, limits)
    tests, summary = parse_minitest(run.stdout)
    problem = _killed_reason(run, limits, "ruby")
    if problem is None:
        if not test_files:
            problem = "no Ruby test files (name them test_*.rb or *_test.rb)"
        elif not summary:
            problem = f"ruby could not load the tests:\n{_tail(run.stderr or run.stdout)}"
        elif not tests:
            problem = "minitest found no tests (methods must be named test_* in a Minitest::Test subclass)"
    return _make_report("ruby", tests, run, problem)


def run_tests(language: str, files: Mapping[str, str], limits: SandboxLimits | None = None) -> RunReport:
    """Run the test files in ``files`` with ``language``'s runner inside the sandbox; per-test results.

    Runners: ``python``: ``sys.executable -m pytest`` (JUnit XML, so captured output is per test; falls back to
    the ``-v`` lines when the run is killed); ``javascript``: ``node --test`` with the junit reporter (tap on
    nodes without it), memory limited with ``RLIMIT_DATA``; ``ruby``: minitest via ``ruby -Ilib -Itest``, verbose
    output parsed.

    Args:
        language: ``python``, ``javascript`` (or ``js``) or ``ruby``.
        files: relative path -> text: the tests and the code they import.
        limits: see :class:`SandboxLimits`.

    Raises:
        SandboxError: unknown language, the runner is not installed (message says what to install), or a bad
            file name.
    """
    limits = limits or SandboxLimits()
    runners: dict[str, Callable[[Mapping[str, str], SandboxLimits], RunReport]] = {
        "python": _run_python,
        "javascript": _run_javascript,
        "js": _run_javascript,
        "ruby": _run_ruby,
    }
    if language not in runners:
        raise SandboxError(f"no test runner for {language!r}; use python, javascript or ruby")
    return runners[language](files, limits)
