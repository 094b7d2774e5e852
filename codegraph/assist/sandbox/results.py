"""What the sandbox reports: one run (:class:`SandboxRun`), one test (:class:`CaseResult`), one test run
(:class:`RunReport`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["passed", "failed", "error", "skipped"]
Language = Literal["python", "javascript", "typescript", "ruby", "go"]


@dataclass(frozen=True, slots=True)
class SandboxRun:
    """Result of :func:`run_in_sandbox`.

    Attributes:
        returncode: the command's exit status; negative: killed by that signal (``-9`` at the wall-time limit).
        stdout: captured standard output (decoded as UTF-8 with ``errors="replace"``, truncated, see below).
        stderr: captured standard error (same).
        timed_out: the wall-time limit was reached and the process tree was killed.
        wall_s: elapsed time of the run including sandbox setup (seconds).
        killed_by_signal: the signal number that ended the command, or ``None`` if it exited.
        output_truncated: stdout or stderr exceeded ``max_output_bytes`` and was cut there.
        enforced: short names of the protections applied in this run (described by :func:`describe_enforced`),
            e.g. ``("tempdir", "env_whitelist", ..., "netns", "fs_readonly", "user_nobody")``.
        not_enforced: protections that were wanted but could not be applied in this run, each with the reason.
    """

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    wall_s: float
    killed_by_signal: int | None
    output_truncated: bool
    enforced: tuple[str, ...]
    not_enforced: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One test's result.

    Attributes:
        name: the runner's test id: ``path::Class::test`` (pytest), ``suite > test`` (node),
            ``Class#test`` (minitest), ``TestName/subtest`` (go).
        outcome: ``passed``, ``failed`` (assertion failed), ``error`` (crashed, setup failed, timed out) or
            ``skipped`` (includes pytest's xfail).
        message: one-line reason for a failure, error or skip; empty when passed.
        output: details: traceback and the test's captured stdout/stderr when the runner reports them.
    """

    name: str
    outcome: Outcome
    message: str = ""
    output: str = ""


@dataclass(frozen=True, slots=True)
class RunReport:
    """Result of :func:`run_tests`.

    Attributes:
        language: ``python``, ``javascript``, ``typescript``, ``ruby`` or ``go``.
        tests: per-test results in the runner's order.
        passed: number of passed tests.
        failed: number of failed or errored tests.
        skipped: number of skipped tests.
        run: the underlying sandboxed run (exit status, full output, limits applied).
        collection_error: why the runner found no tests or could not run some of them (syntax error in a test
            file, no test files, timeout, crash, killed by a limit), or ``None``.
    """

    language: str
    tests: tuple[CaseResult, ...]
    passed: int
    failed: int
    skipped: int
    run: SandboxRun
    collection_error: str | None = None
