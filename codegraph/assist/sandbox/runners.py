"""The test runners behind :func:`run_tests`: pytest, ``node --test`` (JavaScript; TypeScript through ``tsx`` or
node's type stripping), minitest and ``go test``, each run in the sandbox with the program
:mod:`~.toolchains` found and its output parsed (``parsers.py``) into a :class:`~.results.RunReport`.
"""

from __future__ import annotations

import re
import signal
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import PurePosixPath

from ...errors import SandboxError
from .limits import MIB, SandboxLimits
from .parsers import (
    parse_go_test_json,
    parse_minitest,
    parse_node_junit,
    parse_node_tap,
    parse_pytest_junit,
    parse_pytest_verbose,
)
from .plan import JUNIT_FILE
from .results import CaseResult, RunReport, SandboxRun
from .supervise import sandboxed
from .toolchains import Runner, check_runner, find_runner


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


def _run_python(
    files: Mapping[str, str], limits: SandboxLimits, runner: Runner, tests_given: Sequence[str] | None
) -> RunReport:
    """pytest runner of :func:`run_tests`, with the runner's interpreter."""
    argv = [
        *runner.argv,
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
        *(tests_given or ()),
    ]
    if not any(name in files for name in _PYTEST_CONFIGS):  # else pytest looks for one in /tmp, /, ...
        files = {**files, "pytest.ini": "[pytest]\n"}
    run, junit, _ = sandboxed(argv, files, limits, JUNIT_FILE, runner.extras)
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
        elif junit is None and "File too large" in run.stderr:  # EFBIG: RLIMIT_FSIZE stopped a write
            problem = (
                f"a test wrote more than the file-size limit ({limits.max_file_bytes / MIB:g} MiB; printed output "
                "counts, as pytest captures it in a file), so pytest could not write its report; the outcomes "
                "come from its -v lines"
            )
        elif rc not in (0, 1) or junit is None:
            problem = f"pytest exited with status {rc} without results:\n{tail}"
    return _make_report("python", tests, run, problem)


_TS_TEST_FILE = re.compile(r"(^|/)(test[-_][^/]*|[^/]*[._-]test|[^/]*\.spec)\.(ts|mts|cts)$")
"""TypeScript test files (``*.test.ts``, ``*.spec.ts``, ``test_*.ts``, ``*-test.ts``, ...); given to the runner by name,
since ``node --test`` only finds JavaScript files by itself."""

_TS_PACKAGE_JSON = '{"type": "module"}\n'
"""Written into the sandbox for TypeScript when the files have no ``package.json``: the tests are ES modules."""


def _run_node(
    files: Mapping[str, str], limits: SandboxLimits, runner: Runner, tests_given: Sequence[str] | None
) -> RunReport:
    """``node --test`` runner of :func:`run_tests` (JavaScript, and TypeScript through tsx or type stripping)."""
    limits = replace(limits, memory_rlimit=runner.memory_rlimit)  # see SandboxLimits.memory_rlimit
    argv = [*runner.argv, "--test"]
    if runner.junit:
        argv += ["--test-reporter=junit", f"--test-reporter-destination={JUNIT_FILE}"]
        argv += ["--test-reporter=spec", "--test-reporter-destination=stdout"]
    else:
        argv += ["--test-reporter=tap", "--test-reporter-destination=stdout"]
    typescript = runner.language == "typescript"
    if tests_given is not None:
        test_files = list(tests_given)
    else:
        test_files = sorted(name for name in files if _TS_TEST_FILE.search(name)) if typescript else []
    if typescript and "package.json" not in files:
        files = {**files, "package.json": _TS_PACKAGE_JSON}
    run, junit, workdir = sandboxed(
        [*argv, *test_files], files, limits, JUNIT_FILE if runner.junit else None, runner.extras
    )
    tests: list[CaseResult] = []
    errors: list[str] = []
    if runner.junit and junit is not None:
        try:
            tests, errors = parse_node_junit(junit, workdir)
        except ET.ParseError:
            junit = None
    elif not runner.junit:
        tests = parse_node_tap(run.stdout)
    problem = _killed_reason(run, limits, runner.name)
    if problem is None:
        detail = next((ln.strip() for ln in run.stdout.splitlines() if re.match(r"^\s*\w*Error\b.*:", ln)), "")
        if typescript and not test_files:
            problem = "no TypeScript test files (name them *.test.ts or *.spec.ts)"
        elif errors:
            problem = "; ".join(errors) + (f" ({detail})" if detail else "")
        elif runner.junit and junit is None:
            problem = (
                f"{runner.name} exited with status {run.returncode} without results:\n{_tail(run.stdout + run.stderr)}"
            )
        elif not tests:
            where = "*.test.ts" if typescript else "*.test.js, *-test.js, test-*.js or put them in test/"
            problem = f"{runner.name} found no tests (name files {where})"
    return _make_report(runner.language, tests, run, problem)


_RUBY_DRIVER = (
    'files = ARGV.dup; ARGV.replace(["-v"]); require "minitest/autorun"; files.each { |f| require File.expand_path(f) }'
)


def _run_ruby(
    files: Mapping[str, str], limits: SandboxLimits, runner: Runner, tests_given: Sequence[str] | None
) -> RunReport:
    """minitest runner of :func:`run_tests`."""
    test_files = (
        list(tests_given)
        if tests_given is not None
        else sorted(
            name
            for name in files
            if name.endswith(".rb") and (PurePosixPath(name).name.startswith("test_") or name.endswith("_test.rb"))
        )
    )
    argv = [*runner.argv, "-Ilib", "-Itest", "-e", _RUBY_DRIVER, *test_files]
    run = sandboxed(argv, files, limits, None, runner.extras)[0]
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


def _go_directive(version: str) -> str:
    """``go 1.19`` for toolchain ``go1.19.8`` (the go.mod line of a temporary module); ``go 1.18`` if unknown."""
    match = re.match(r"go(\d+)\.(\d+)", version)
    return f"go {match.group(1)}.{match.group(2)}" if match else "go 1.18"


def _run_go(
    files: Mapping[str, str], limits: SandboxLimits, runner: Runner, tests_given: Sequence[str] | None
) -> RunReport:
    """``go test -json`` runner of :func:`run_tests`: the packages that hold a ``*_test.go`` file, offline."""
    limits = replace(limits, memory_rlimit=runner.memory_rlimit)
    names = tests_given if tests_given is not None else [name for name in files if name.endswith("_test.go")]
    packages = sorted({"./" + str(PurePosixPath(name).parent) for name in names})
    if "go.mod" not in files:  # a temporary module around the snippet
        files = {**files, "go.mod": f"module snippet\n\n{_go_directive(runner.version)}\n"}
    argv = [*runner.argv, "test", "-json", "-p=2", f"-timeout={max(1, int(limits.wall_time_s))}s", *packages]
    run = sandboxed(argv, files, limits, None, runner.extras)[0]
    tests, errors = parse_go_test_json(run.stdout, run.stderr)
    problem = _killed_reason(run, limits, "go test")
    if problem is None:
        if not packages:
            problem = "no Go test files (name them *_test.go, in the package they test)"
        elif errors:
            problem = "; ".join(errors)
            if "disabled by GOPROXY=off" in problem or "go: downloading" in problem:  # a module is not cached
                problem += (
                    " (the sandbox has no network: run `go mod download` in the repository so that the module cache"
                    " has the modules, or test standard-library-only code)"
                )
        elif not tests:
            tail = _tail(run.stdout + run.stderr)
            problem = f"go test found no tests (functions must be named TestXxx(t *testing.T)):\n{tail}"
    return _make_report("go", tests, run, problem)


_RUNNERS: dict[str, Callable[[Mapping[str, str], SandboxLimits, Runner, Sequence[str] | None], RunReport]] = {
    "python": _run_python,
    "javascript": _run_node,
    "typescript": _run_node,
    "ruby": _run_ruby,
    "go": _run_go,
}


def run_tests(
    language: str,
    files: Mapping[str, str],
    limits: SandboxLimits | None = None,
    runner: Runner | None = None,
    *,
    tests: Sequence[str] | None = None,
) -> RunReport:
    """Run the test files in ``files`` with ``language``'s runner inside the sandbox; per-test results.

    Runners: ``python``: pytest with the runner's interpreter (JUnit XML, so captured output is per test; falls
    back to the ``-v`` lines when the run is killed); ``javascript``: ``node --test`` with the junit reporter (tap
    on nodes without it); ``typescript``: the same through ``tsx`` or node's type stripping, given the
    ``*.test.ts`` files by name, as ES modules (a ``package.json`` with ``"type": "module"`` is added when
    ``files`` has none); ``ruby``: minitest via ``ruby -Ilib -Itest``, verbose output parsed; ``go``:
    ``go test -json`` on each package holding a ``*_test.go`` file, in a temporary module (``module snippet``)
    unless ``files`` has a ``go.mod``, offline. Node and go are memory limited with ``RLIMIT_DATA``.

    Args:
        language: ``python``, ``javascript`` (or ``js``), ``typescript`` (or ``ts``), ``ruby`` or ``go``.
        files: relative path -> text: the tests and the code they import.
        limits: see :class:`SandboxLimits`.
        runner: from :func:`~.toolchains.find_runner` (checked with :func:`~.toolchains.check_runner` here if
            it was not); default: ``find_runner(language)``, which is codegraph's own Python and the tools on
            ``PATH``.
        tests: the test files to run (names in ``files``); default: every file the runner would collect by its
            naming rules (``test_*.py``, ``*.test.js``, ``*.test.ts``, ``test_*.rb``, ``*_test.go``, ...).
            ``codegraph test`` names its generated file, so the repository's own tests copied along do not run.

    Raises:
        SandboxError: unknown language, the runner is not installed or cannot run in the sandbox (the message
            says what to install), or a bad file name.
    """
    limits = limits or SandboxLimits()
    runner = check_runner(runner or find_runner(language), limits)
    if runner.language not in _RUNNERS:
        raise SandboxError(f"no test runner for {language!r}; use python, javascript, typescript, ruby or go")
    for name in tests or ():
        if name not in files:
            raise SandboxError(f"test file {name!r} is not among the files to run")
    return _RUNNERS[runner.language](files, limits, runner, None if tests is None else list(tests))
